import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NoticeLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_LEVEL_UNSPECIFIED: _ClassVar[NoticeLevel]
    NOTICE_LEVEL_INFO: _ClassVar[NoticeLevel]
    NOTICE_LEVEL_WARNING: _ClassVar[NoticeLevel]
NOTICE_LEVEL_UNSPECIFIED: NoticeLevel
NOTICE_LEVEL_INFO: NoticeLevel
NOTICE_LEVEL_WARNING: NoticeLevel

class SubmitRequest(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _intent_pb2.IntentRequest
    def __init__(self, intent: _Optional[_Union[_intent_pb2.IntentRequest, _Mapping]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("intent_id",)
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    def __init__(self, intent_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _intent_pb2.IntentState
    def __init__(self, state: _Optional[_Union[_intent_pb2.IntentState, str]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("intent_id",)
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    def __init__(self, intent_id: _Optional[str] = ...) -> None: ...

class IntentInfo(_message.Message):
    __slots__ = ("intent_id", "kind", "model", "state", "created_at", "started_at", "finished_at", "attempts", "worker", "queue_position", "result", "error")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    kind: _intent_pb2.Kind
    model: str
    state: _intent_pb2.IntentState
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    attempts: int
    worker: str
    queue_position: int
    result: _intent_pb2.IntentResult
    error: _intent_pb2.Error
    def __init__(self, intent_id: _Optional[str] = ..., kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., model: _Optional[str] = ..., state: _Optional[_Union[_intent_pb2.IntentState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., worker: _Optional[str] = ..., queue_position: _Optional[int] = ..., result: _Optional[_Union[_intent_pb2.IntentResult, _Mapping]] = ..., error: _Optional[_Union[_intent_pb2.Error, _Mapping]] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: IntentInfo
    def __init__(self, intent: _Optional[_Union[IntentInfo, _Mapping]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("intent_id", "after_seq")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    after_seq: int
    def __init__(self, intent_id: _Optional[str] = ..., after_seq: _Optional[int] = ...) -> None: ...

class NoticesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Notice(_message.Message):
    __slots__ = ("time", "level", "text", "realm")
    TIME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REALM_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    level: NoticeLevel
    text: str
    realm: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[_Union[NoticeLevel, str]] = ..., text: _Optional[str] = ..., realm: _Optional[str] = ...) -> None: ...
