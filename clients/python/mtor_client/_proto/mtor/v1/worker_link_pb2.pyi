from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Capability(_message.Message):
    __slots__ = ("kind", "models")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    kind: _intent_pb2.Kind
    models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., models: _Optional[_Iterable[str]] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("type", "name", "vram_total_bytes", "vram_free_bytes")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VRAM_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    VRAM_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    vram_total_bytes: int
    vram_free_bytes: int
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., vram_total_bytes: _Optional[int] = ..., vram_free_bytes: _Optional[int] = ...) -> None: ...

class WorkerHello(_message.Message):
    __slots__ = ("name", "capabilities", "max_concurrency", "devices", "version", "protocol", "takes_batches")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TAKES_BATCHES_FIELD_NUMBER: _ClassVar[int]
    name: str
    capabilities: _containers.RepeatedCompositeFieldContainer[Capability]
    max_concurrency: int
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    version: str
    protocol: int
    takes_batches: bool
    def __init__(self, name: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Capability, _Mapping]]] = ..., max_concurrency: _Optional[int] = ..., devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ..., version: _Optional[str] = ..., protocol: _Optional[int] = ..., takes_batches: _Optional[bool] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("running", "healthy", "draining", "devices", "detail")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    running: int
    healthy: bool
    draining: bool
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    detail: str
    def __init__(self, running: _Optional[int] = ..., healthy: _Optional[bool] = ..., draining: _Optional[bool] = ..., devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ..., detail: _Optional[str] = ...) -> None: ...

class AssignmentUpdate(_message.Message):
    __slots__ = ("assignment_id", "delta", "result", "failed")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    delta: _intent_pb2.Delta
    result: _intent_pb2.IntentResult
    failed: _intent_pb2.Error
    def __init__(self, assignment_id: _Optional[str] = ..., delta: _Optional[_Union[_intent_pb2.Delta, _Mapping]] = ..., result: _Optional[_Union[_intent_pb2.IntentResult, _Mapping]] = ..., failed: _Optional[_Union[_intent_pb2.Error, _Mapping]] = ...) -> None: ...

class AssignmentUpdates(_message.Message):
    __slots__ = ("updates",)
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[AssignmentUpdate]
    def __init__(self, updates: _Optional[_Iterable[_Union[AssignmentUpdate, _Mapping]]] = ...) -> None: ...

class WorkerMessage(_message.Message):
    __slots__ = ("hello", "heartbeat", "update", "updates")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    hello: WorkerHello
    heartbeat: Heartbeat
    update: AssignmentUpdate
    updates: AssignmentUpdates
    def __init__(self, hello: _Optional[_Union[WorkerHello, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., update: _Optional[_Union[AssignmentUpdate, _Mapping]] = ..., updates: _Optional[_Union[AssignmentUpdates, _Mapping]] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("worker_id", "realm", "heartbeat_interval_s", "takes_batches")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    REALM_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    TAKES_BATCHES_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    realm: str
    heartbeat_interval_s: float
    takes_batches: bool
    def __init__(self, worker_id: _Optional[str] = ..., realm: _Optional[str] = ..., heartbeat_interval_s: _Optional[float] = ..., takes_batches: _Optional[bool] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("assignment_id", "intent_id", "intent", "timeout_s")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    intent_id: str
    intent: _intent_pb2.IntentRequest
    timeout_s: float
    def __init__(self, assignment_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., intent: _Optional[_Union[_intent_pb2.IntentRequest, _Mapping]] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class CancelAssignment(_message.Message):
    __slots__ = ("assignment_id", "reason")
    ASSIGNMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    assignment_id: str
    reason: str
    def __init__(self, assignment_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Assignments(_message.Message):
    __slots__ = ("assignments",)
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    assignments: _containers.RepeatedCompositeFieldContainer[Assignment]
    def __init__(self, assignments: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ...) -> None: ...

class RealmMessage(_message.Message):
    __slots__ = ("welcome", "assign", "cancel", "assigns")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    ASSIGNS_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    assign: Assignment
    cancel: CancelAssignment
    assigns: Assignments
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., assign: _Optional[_Union[Assignment, _Mapping]] = ..., cancel: _Optional[_Union[CancelAssignment, _Mapping]] = ..., assigns: _Optional[_Union[Assignments, _Mapping]] = ...) -> None: ...
