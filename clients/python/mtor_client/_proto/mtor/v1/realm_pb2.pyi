from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KindCapacity(_message.Message):
    __slots__ = ("kind", "workers", "free_slots", "queue_depth", "models")
    KIND_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    FREE_SLOTS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    kind: _intent_pb2.Kind
    workers: int
    free_slots: int
    queue_depth: int
    models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., workers: _Optional[int] = ..., free_slots: _Optional[int] = ..., queue_depth: _Optional[int] = ..., models: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("name", "version", "protocol", "uptime_s", "kinds", "running", "id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    protocol: int
    uptime_s: float
    kinds: _containers.RepeatedCompositeFieldContainer[KindCapacity]
    running: int
    id: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., protocol: _Optional[int] = ..., uptime_s: _Optional[float] = ..., kinds: _Optional[_Iterable[_Union[KindCapacity, _Mapping]]] = ..., running: _Optional[int] = ..., id: _Optional[str] = ...) -> None: ...
