import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mtor_client._proto.mtor.v1 import account_pb2 as _account_pb2
from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from mtor_client._proto.mtor.v1 import intents_pb2 as _intents_pb2
from mtor_client._proto.mtor.v1 import worker_link_pb2 as _worker_link_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PoolStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POOL_STRATEGY_UNSPECIFIED: _ClassVar[PoolStrategy]
    POOL_STRATEGY_HEALTH: _ClassVar[PoolStrategy]
    POOL_STRATEGY_ROUND_ROBIN: _ClassVar[PoolStrategy]
    POOL_STRATEGY_LEAST_BUSY: _ClassVar[PoolStrategy]
    POOL_STRATEGY_RANDOM: _ClassVar[PoolStrategy]
    POOL_STRATEGY_AUTO: _ClassVar[PoolStrategy]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_USER: _ClassVar[Role]
    ROLE_SYSOP: _ClassVar[Role]

class TokenPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOKEN_PURPOSE_UNSPECIFIED: _ClassVar[TokenPurpose]
    TOKEN_PURPOSE_USER: _ClassVar[TokenPurpose]
    TOKEN_PURPOSE_JOIN: _ClassVar[TokenPurpose]
    TOKEN_PURPOSE_PEER: _ClassVar[TokenPurpose]

class NetworkWorkerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NETWORK_WORKER_STATE_UNSPECIFIED: _ClassVar[NetworkWorkerState]
    NETWORK_WORKER_STATE_DISCOVERED: _ClassVar[NetworkWorkerState]
    NETWORK_WORKER_STATE_JOINED: _ClassVar[NetworkWorkerState]
    NETWORK_WORKER_STATE_REFUSED: _ClassVar[NetworkWorkerState]

class FoundBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FOUND_BY_UNSPECIFIED: _ClassVar[FoundBy]
    FOUND_BY_MULTICAST: _ClassVar[FoundBy]
    FOUND_BY_SEED: _ClassVar[FoundBy]
POOL_STRATEGY_UNSPECIFIED: PoolStrategy
POOL_STRATEGY_HEALTH: PoolStrategy
POOL_STRATEGY_ROUND_ROBIN: PoolStrategy
POOL_STRATEGY_LEAST_BUSY: PoolStrategy
POOL_STRATEGY_RANDOM: PoolStrategy
POOL_STRATEGY_AUTO: PoolStrategy
ROLE_UNSPECIFIED: Role
ROLE_USER: Role
ROLE_SYSOP: Role
TOKEN_PURPOSE_UNSPECIFIED: TokenPurpose
TOKEN_PURPOSE_USER: TokenPurpose
TOKEN_PURPOSE_JOIN: TokenPurpose
TOKEN_PURPOSE_PEER: TokenPurpose
NETWORK_WORKER_STATE_UNSPECIFIED: NetworkWorkerState
NETWORK_WORKER_STATE_DISCOVERED: NetworkWorkerState
NETWORK_WORKER_STATE_JOINED: NetworkWorkerState
NETWORK_WORKER_STATE_REFUSED: NetworkWorkerState
FOUND_BY_UNSPECIFIED: FoundBy
FOUND_BY_MULTICAST: FoundBy
FOUND_BY_SEED: FoundBy

class Specialisation(_message.Message):
    __slots__ = ("topic", "keywords", "workers")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    topic: str
    keywords: _containers.RepeatedScalarFieldContainer[str]
    workers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, topic: _Optional[str] = ..., keywords: _Optional[_Iterable[str]] = ..., workers: _Optional[_Iterable[str]] = ...) -> None: ...

class Pool(_message.Message):
    __slots__ = ("name", "kind", "workers", "strategy", "specialisations")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SPECIALISATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: _intent_pb2.Kind
    workers: _containers.RepeatedScalarFieldContainer[str]
    strategy: PoolStrategy
    specialisations: _containers.RepeatedCompositeFieldContainer[Specialisation]
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., workers: _Optional[_Iterable[str]] = ..., strategy: _Optional[_Union[PoolStrategy, str]] = ..., specialisations: _Optional[_Iterable[_Union[Specialisation, _Mapping]]] = ...) -> None: ...

class ListPoolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPoolsResponse(_message.Message):
    __slots__ = ("pools",)
    POOLS_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[Pool]
    def __init__(self, pools: _Optional[_Iterable[_Union[Pool, _Mapping]]] = ...) -> None: ...

class DeletePoolRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeletePoolResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("name", "id", "health", "blacklisted", "blacklisted_by_sysop", "draining", "running", "max_concurrency", "capabilities", "devices", "version", "connected_at", "heartbeat_age_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    BLACKLISTED_FIELD_NUMBER: _ClassVar[int]
    BLACKLISTED_BY_SYSOP_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_AGE_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    health: int
    blacklisted: bool
    blacklisted_by_sysop: bool
    draining: bool
    running: int
    max_concurrency: int
    capabilities: _containers.RepeatedCompositeFieldContainer[_worker_link_pb2.Capability]
    devices: _containers.RepeatedCompositeFieldContainer[_worker_link_pb2.Device]
    version: str
    connected_at: _timestamp_pb2.Timestamp
    heartbeat_age_s: float
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., health: _Optional[int] = ..., blacklisted: _Optional[bool] = ..., blacklisted_by_sysop: _Optional[bool] = ..., draining: _Optional[bool] = ..., running: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., capabilities: _Optional[_Iterable[_Union[_worker_link_pb2.Capability, _Mapping]]] = ..., devices: _Optional[_Iterable[_Union[_worker_link_pb2.Device, _Mapping]]] = ..., version: _Optional[str] = ..., connected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeat_age_s: _Optional[float] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerInfo]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerInfo, _Mapping]]] = ...) -> None: ...

class WorkerRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReadmitWorkerResponse(_message.Message):
    __slots__ = ("worker",)
    WORKER_FIELD_NUMBER: _ClassVar[int]
    worker: WorkerInfo
    def __init__(self, worker: _Optional[_Union[WorkerInfo, _Mapping]] = ...) -> None: ...

class QueueEntry(_message.Message):
    __slots__ = ("intent", "user")
    INTENT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    intent: _intents_pb2.IntentInfo
    user: str
    def __init__(self, intent: _Optional[_Union[_intents_pb2.IntentInfo, _Mapping]] = ..., user: _Optional[str] = ...) -> None: ...

class ListQueueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListQueueResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[QueueEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[QueueEntry, _Mapping]]] = ...) -> None: ...

class CancelIntentRequest(_message.Message):
    __slots__ = ("intent_id", "reason")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    reason: str
    def __init__(self, intent_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelIntentResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _intent_pb2.IntentState
    def __init__(self, state: _Optional[_Union[_intent_pb2.IntentState, str]] = ...) -> None: ...

class ClearQueueRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: _intent_pb2.Kind
    def __init__(self, kind: _Optional[_Union[_intent_pb2.Kind, str]] = ...) -> None: ...

class ClearQueueResponse(_message.Message):
    __slots__ = ("cancelled",)
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    cancelled: int
    def __init__(self, cancelled: _Optional[int] = ...) -> None: ...

class WatchRealmRequest(_message.Message):
    __slots__ = ("min_interval_s",)
    MIN_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    min_interval_s: float
    def __init__(self, min_interval_s: _Optional[float] = ...) -> None: ...

class KindLoad(_message.Message):
    __slots__ = ("kind", "queued", "running")
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    kind: _intent_pb2.Kind
    queued: int
    running: int
    def __init__(self, kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., queued: _Optional[int] = ..., running: _Optional[int] = ...) -> None: ...

class RealmSnapshot(_message.Message):
    __slots__ = ("time", "workers", "kinds", "users_connected")
    TIME_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    USERS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    workers: _containers.RepeatedCompositeFieldContainer[WorkerInfo]
    kinds: _containers.RepeatedCompositeFieldContainer[KindLoad]
    users_connected: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., workers: _Optional[_Iterable[_Union[WorkerInfo, _Mapping]]] = ..., kinds: _Optional[_Iterable[_Union[KindLoad, _Mapping]]] = ..., users_connected: _Optional[int] = ...) -> None: ...

class RealmEvent(_message.Message):
    __slots__ = ("snapshot", "notice")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    snapshot: RealmSnapshot
    notice: _intents_pb2.Notice
    def __init__(self, snapshot: _Optional[_Union[RealmSnapshot, _Mapping]] = ..., notice: _Optional[_Union[_intents_pb2.Notice, _Mapping]] = ...) -> None: ...

class UserInfo(_message.Message):
    __slots__ = ("name", "role", "created_at", "banned", "ban_reason", "live_tokens")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    BANNED_FIELD_NUMBER: _ClassVar[int]
    BAN_REASON_FIELD_NUMBER: _ClassVar[int]
    LIVE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: Role
    created_at: _timestamp_pb2.Timestamp
    banned: bool
    ban_reason: str
    live_tokens: int
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., banned: _Optional[bool] = ..., ban_reason: _Optional[str] = ..., live_tokens: _Optional[int] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[UserInfo]
    def __init__(self, users: _Optional[_Iterable[_Union[UserInfo, _Mapping]]] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("name", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: Role
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class SetRoleRequest(_message.Message):
    __slots__ = ("name", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: Role
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class BanUserRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnbanUserRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TerminateUserRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TerminateUserResponse(_message.Message):
    __slots__ = ("cancelled",)
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    cancelled: int
    def __init__(self, cancelled: _Optional[int] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("prefix", "purpose", "user", "label", "created_at", "expires_at", "revoked_at")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    purpose: TokenPurpose
    user: str
    label: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    def __init__(self, prefix: _Optional[str] = ..., purpose: _Optional[_Union[TokenPurpose, str]] = ..., user: _Optional[str] = ..., label: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("purpose", "user", "label", "ttl_s")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    purpose: TokenPurpose
    user: str
    label: str
    ttl_s: float
    def __init__(self, purpose: _Optional[_Union[TokenPurpose, str]] = ..., user: _Optional[str] = ..., label: _Optional[str] = ..., ttl_s: _Optional[float] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ("token", "info")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    token: str
    info: TokenInfo
    def __init__(self, token: _Optional[str] = ..., info: _Optional[_Union[TokenInfo, _Mapping]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ("user", "include_dead")
    USER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DEAD_FIELD_NUMBER: _ClassVar[int]
    user: str
    include_dead: bool
    def __init__(self, user: _Optional[str] = ..., include_dead: _Optional[bool] = ...) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("prefix",)
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    def __init__(self, prefix: _Optional[str] = ...) -> None: ...

class BroadcastRequest(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class BroadcastResponse(_message.Message):
    __slots__ = ("recipients",)
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    recipients: int
    def __init__(self, recipients: _Optional[int] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("time", "actor", "action", "target", "detail")
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    actor: str
    action: str
    target: str
    detail: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class SetQuotaRequest(_message.Message):
    __slots__ = ("user", "requests_per_minute", "budget")
    USER_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    user: str
    requests_per_minute: int
    budget: float
    def __init__(self, user: _Optional[str] = ..., requests_per_minute: _Optional[int] = ..., budget: _Optional[float] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    def __init__(self, user: _Optional[str] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("realm", "users", "users_connected", "most_users_connected")
    REALM_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    USERS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    MOST_USERS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    realm: _account_pb2.UsageReport
    users: _containers.RepeatedCompositeFieldContainer[_account_pb2.UsageReport]
    users_connected: int
    most_users_connected: int
    def __init__(self, realm: _Optional[_Union[_account_pb2.UsageReport, _Mapping]] = ..., users: _Optional[_Iterable[_Union[_account_pb2.UsageReport, _Mapping]]] = ..., users_connected: _Optional[int] = ..., most_users_connected: _Optional[int] = ...) -> None: ...

class ListNetworkRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NetworkWorker(_message.Message):
    __slots__ = ("name", "state", "reason", "address", "kinds", "models", "device", "vram_total_bytes", "version", "protocol", "serves_realm", "announced", "since", "refusals")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    VRAM_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    SERVES_REALM_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCED_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: NetworkWorkerState
    reason: str
    address: str
    kinds: _containers.RepeatedScalarFieldContainer[_intent_pb2.Kind]
    models: _containers.RepeatedScalarFieldContainer[str]
    device: str
    vram_total_bytes: int
    version: str
    protocol: int
    serves_realm: str
    announced: bool
    since: _timestamp_pb2.Timestamp
    refusals: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[NetworkWorkerState, str]] = ..., reason: _Optional[str] = ..., address: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[_intent_pb2.Kind, str]]] = ..., models: _Optional[_Iterable[str]] = ..., device: _Optional[str] = ..., vram_total_bytes: _Optional[int] = ..., version: _Optional[str] = ..., protocol: _Optional[int] = ..., serves_realm: _Optional[str] = ..., announced: _Optional[bool] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refusals: _Optional[int] = ...) -> None: ...

class NetworkRealm(_message.Message):
    __slots__ = ("id", "name", "address", "protocol", "kinds", "tls", "join_token_required", "found_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    JOIN_TOKEN_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    FOUND_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    address: str
    protocol: int
    kinds: _containers.RepeatedScalarFieldContainer[_intent_pb2.Kind]
    tls: bool
    join_token_required: bool
    found_by: FoundBy
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ..., protocol: _Optional[int] = ..., kinds: _Optional[_Iterable[_Union[_intent_pb2.Kind, str]]] = ..., tls: _Optional[bool] = ..., join_token_required: _Optional[bool] = ..., found_by: _Optional[_Union[FoundBy, str]] = ...) -> None: ...

class ListNetworkResponse(_message.Message):
    __slots__ = ("workers", "realms", "watching", "seed_errors")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    REALMS_FIELD_NUMBER: _ClassVar[int]
    WATCHING_FIELD_NUMBER: _ClassVar[int]
    SEED_ERRORS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[NetworkWorker]
    realms: _containers.RepeatedCompositeFieldContainer[NetworkRealm]
    watching: bool
    seed_errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, workers: _Optional[_Iterable[_Union[NetworkWorker, _Mapping]]] = ..., realms: _Optional[_Iterable[_Union[NetworkRealm, _Mapping]]] = ..., watching: _Optional[bool] = ..., seed_errors: _Optional[_Iterable[str]] = ...) -> None: ...
