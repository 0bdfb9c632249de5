import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mtor_client._proto.mtor.v1 import intent_pb2 as _intent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user", "sysop")
    USER_FIELD_NUMBER: _ClassVar[int]
    SYSOP_FIELD_NUMBER: _ClassVar[int]
    user: str
    sysop: bool
    def __init__(self, user: _Optional[str] = ..., sysop: _Optional[bool] = ...) -> None: ...

class UsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KindUsage(_message.Message):
    __slots__ = ("kind", "intents", "succeeded", "processing_s", "queue_wait_s", "cost", "mean_service_s")
    KIND_FIELD_NUMBER: _ClassVar[int]
    INTENTS_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_S_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_S_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    MEAN_SERVICE_S_FIELD_NUMBER: _ClassVar[int]
    kind: _intent_pb2.Kind
    intents: int
    succeeded: int
    processing_s: float
    queue_wait_s: float
    cost: float
    mean_service_s: float
    def __init__(self, kind: _Optional[_Union[_intent_pb2.Kind, str]] = ..., intents: _Optional[int] = ..., succeeded: _Optional[int] = ..., processing_s: _Optional[float] = ..., queue_wait_s: _Optional[float] = ..., cost: _Optional[float] = ..., mean_service_s: _Optional[float] = ...) -> None: ...

class QuotaStatus(_message.Message):
    __slots__ = ("requests_per_minute", "budget", "budget_period_s", "spent", "period_ends")
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    BUDGET_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    SPENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ENDS_FIELD_NUMBER: _ClassVar[int]
    requests_per_minute: int
    budget: float
    budget_period_s: float
    spent: float
    period_ends: _timestamp_pb2.Timestamp
    def __init__(self, requests_per_minute: _Optional[int] = ..., budget: _Optional[float] = ..., budget_period_s: _Optional[float] = ..., spent: _Optional[float] = ..., period_ends: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UsageReport(_message.Message):
    __slots__ = ("user", "intents", "processing_s", "cost", "kinds", "quota")
    USER_FIELD_NUMBER: _ClassVar[int]
    INTENTS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_S_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    user: str
    intents: int
    processing_s: float
    cost: float
    kinds: _containers.RepeatedCompositeFieldContainer[KindUsage]
    quota: QuotaStatus
    def __init__(self, user: _Optional[str] = ..., intents: _Optional[int] = ..., processing_s: _Optional[float] = ..., cost: _Optional[float] = ..., kinds: _Optional[_Iterable[_Union[KindUsage, _Mapping]]] = ..., quota: _Optional[_Union[QuotaStatus, _Mapping]] = ...) -> None: ...
