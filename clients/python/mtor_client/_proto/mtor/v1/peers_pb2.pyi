import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mtor_client._proto.mtor.v1 import federation_pb2 as _federation_pb2
from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PEER_STATE_UNSPECIFIED: _ClassVar[PeerState]
    PEER_STATE_INBOUND_ONLY: _ClassVar[PeerState]
    PEER_STATE_CONNECTING: _ClassVar[PeerState]
    PEER_STATE_UP: _ClassVar[PeerState]
    PEER_STATE_DOWN: _ClassVar[PeerState]
    PEER_STATE_REFUSED: _ClassVar[PeerState]
PEER_STATE_UNSPECIFIED: PeerState
PEER_STATE_INBOUND_ONLY: PeerState
PEER_STATE_CONNECTING: PeerState
PEER_STATE_UP: PeerState
PEER_STATE_DOWN: PeerState
PEER_STATE_REFUSED: PeerState

class PeerInfo(_message.Message):
    __slots__ = ("name", "address", "realm_id", "kinds", "requests_per_minute", "budget", "state", "detail", "rtt_ms", "capacity", "reported_at", "running")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REALM_ID_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RTT_MS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    realm_id: str
    kinds: _containers.RepeatedScalarFieldContainer[_intent_pb2.Kind]
    requests_per_minute: int
    budget: float
    state: PeerState
    detail: str
    rtt_ms: float
    capacity: _federation_pb2.Capacity
    reported_at: _timestamp_pb2.Timestamp
    running: int
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., realm_id: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[_intent_pb2.Kind, str]]] = ..., requests_per_minute: _Optional[int] = ..., budget: _Optional[float] = ..., state: _Optional[_Union[PeerState, str]] = ..., detail: _Optional[str] = ..., rtt_ms: _Optional[float] = ..., capacity: _Optional[_Union[_federation_pb2.Capacity, _Mapping]] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., running: _Optional[int] = ...) -> None: ...

class AddPeerRequest(_message.Message):
    __slots__ = ("name", "address", "token", "kinds", "requests_per_minute", "budget")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    token: str
    kinds: _containers.RepeatedScalarFieldContainer[_intent_pb2.Kind]
    requests_per_minute: int
    budget: float
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., token: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[_intent_pb2.Kind, str]]] = ..., requests_per_minute: _Optional[int] = ..., budget: _Optional[float] = ...) -> None: ...

class AddPeerResponse(_message.Message):
    __slots__ = ("peer", "token")
    PEER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    peer: PeerInfo
    token: str
    def __init__(self, peer: _Optional[_Union[PeerInfo, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListPeersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPeersResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerInfo]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerInfo, _Mapping]]] = ...) -> None: ...

class RemovePeerRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemovePeerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FederationUsageRequest(_message.Message):
    __slots__ = ("since",)
    SINCE_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FederationTotals(_message.Message):
    __slots__ = ("intents", "succeeded", "processing_s", "cost")
    INTENTS_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_S_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    intents: int
    succeeded: int
    processing_s: float
    cost: float
    def __init__(self, intents: _Optional[int] = ..., succeeded: _Optional[int] = ..., processing_s: _Optional[float] = ..., cost: _Optional[float] = ...) -> None: ...

class PeerUsage(_message.Message):
    __slots__ = ("peer", "served_for_them", "served_for_us")
    PEER_FIELD_NUMBER: _ClassVar[int]
    SERVED_FOR_THEM_FIELD_NUMBER: _ClassVar[int]
    SERVED_FOR_US_FIELD_NUMBER: _ClassVar[int]
    peer: str
    served_for_them: FederationTotals
    served_for_us: FederationTotals
    def __init__(self, peer: _Optional[str] = ..., served_for_them: _Optional[_Union[FederationTotals, _Mapping]] = ..., served_for_us: _Optional[_Union[FederationTotals, _Mapping]] = ...) -> None: ...

class FederationUsageResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerUsage]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerUsage, _Mapping]]] = ...) -> None: ...
