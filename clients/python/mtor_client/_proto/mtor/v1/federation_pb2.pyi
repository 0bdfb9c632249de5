from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FederationHello(_message.Message):
    __slots__ = ("realm_id", "name", "protocol", "version", "kinds")
    REALM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    realm_id: str
    name: str
    protocol: int
    version: str
    kinds: _containers.RepeatedScalarFieldContainer[_intent_pb2.Kind]
    def __init__(self, realm_id: _Optional[str] = ..., name: _Optional[str] = ..., protocol: _Optional[int] = ..., version: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[_intent_pb2.Kind, str]]] = ...) -> None: ...

class WatchCapacityRequest(_message.Message):
    __slots__ = ("interval_s",)
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    interval_s: float
    def __init__(self, interval_s: _Optional[float] = ...) -> None: ...

class PeerKindCapacity(_message.Message):
    __slots__ = ("kind", "models", "free_slots", "queue_depth", "hops", "cost_base", "cost_per_second")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    FREE_SLOTS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    COST_BASE_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    kind: _intent_pb2.Kind
    models: _containers.RepeatedScalarFieldContainer[str]
    free_slots: int
    queue_depth: int
    hops: int
    cost_base: float
    cost_per_second: float
    def __init__(self, kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., models: _Optional[_Iterable[str]] = ..., free_slots: _Optional[int] = ..., queue_depth: _Optional[int] = ..., hops: _Optional[int] = ..., cost_base: _Optional[float] = ..., cost_per_second: _Optional[float] = ...) -> None: ...

class Capacity(_message.Message):
    __slots__ = ("kinds", "healthy", "interval_s")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedCompositeFieldContainer[PeerKindCapacity]
    healthy: bool
    interval_s: float
    def __init__(self, kinds: _Optional[_Iterable[_Union[PeerKindCapacity, _Mapping]]] = ..., healthy: _Optional[bool] = ..., interval_s: _Optional[float] = ...) -> None: ...

class ForwardRequest(_message.Message):
    __slots__ = ("intent", "visited", "hops_left", "origin_intent_id", "origin_user")
    INTENT_FIELD_NUMBER: _ClassVar[int]
    VISITED_FIELD_NUMBER: _ClassVar[int]
    HOPS_LEFT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_USER_FIELD_NUMBER: _ClassVar[int]
    intent: _intent_pb2.IntentRequest
    visited: _containers.RepeatedScalarFieldContainer[str]
    hops_left: int
    origin_intent_id: str
    origin_user: str
    def __init__(self, intent: _Optional[_Union[_intent_pb2.IntentRequest, _Mapping]] = ..., visited: _Optional[_Iterable[str]] = ..., hops_left: _Optional[int] = ..., origin_intent_id: _Optional[str] = ..., origin_user: _Optional[str] = ...) -> None: ...

class FederationCancelRequest(_message.Message):
    __slots__ = ("intent_id", "reason")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    reason: str
    def __init__(self, intent_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class FederationCancelResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _intent_pb2.IntentState
    def __init__(self, state: _Optional[_Union[_intent_pb2.IntentState, str]] = ...) -> None: ...
