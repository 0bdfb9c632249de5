import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    KIND_CHAT: _ClassVar[Kind]
    KIND_TRANSCRIBE: _ClassVar[Kind]
    KIND_SPEAK: _ClassVar[Kind]
    KIND_IMAGINE: _ClassVar[Kind]
    KIND_VISION: _ClassVar[Kind]
    KIND_CONVERSE: _ClassVar[Kind]
    KIND_EMBED: _ClassVar[Kind]

class IntentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTENT_STATE_UNSPECIFIED: _ClassVar[IntentState]
    INTENT_STATE_QUEUED: _ClassVar[IntentState]
    INTENT_STATE_RUNNING: _ClassVar[IntentState]
    INTENT_STATE_SUCCEEDED: _ClassVar[IntentState]
    INTENT_STATE_FAILED: _ClassVar[IntentState]
    INTENT_STATE_CANCELLED: _ClassVar[IntentState]

class AudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_FORMAT_UNSPECIFIED: _ClassVar[AudioFormat]
    AUDIO_FORMAT_WAV: _ClassVar[AudioFormat]
    AUDIO_FORMAT_WEBM: _ClassVar[AudioFormat]
    AUDIO_FORMAT_OGG: _ClassVar[AudioFormat]
    AUDIO_FORMAT_MP3: _ClassVar[AudioFormat]
    AUDIO_FORMAT_FLAC: _ClassVar[AudioFormat]

class TranscribeTask(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSCRIBE_TASK_UNSPECIFIED: _ClassVar[TranscribeTask]
    TRANSCRIBE_TASK_TRANSCRIBE: _ClassVar[TranscribeTask]
    TRANSCRIBE_TASK_TRANSLATE: _ClassVar[TranscribeTask]

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
KIND_UNSPECIFIED: Kind
KIND_CHAT: Kind
KIND_TRANSCRIBE: Kind
KIND_SPEAK: Kind
KIND_IMAGINE: Kind
KIND_VISION: Kind
KIND_CONVERSE: Kind
KIND_EMBED: Kind
INTENT_STATE_UNSPECIFIED: IntentState
INTENT_STATE_QUEUED: IntentState
INTENT_STATE_RUNNING: IntentState
INTENT_STATE_SUCCEEDED: IntentState
INTENT_STATE_FAILED: IntentState
INTENT_STATE_CANCELLED: IntentState
AUDIO_FORMAT_UNSPECIFIED: AudioFormat
AUDIO_FORMAT_WAV: AudioFormat
AUDIO_FORMAT_WEBM: AudioFormat
AUDIO_FORMAT_OGG: AudioFormat
AUDIO_FORMAT_MP3: AudioFormat
AUDIO_FORMAT_FLAC: AudioFormat
TRANSCRIBE_TASK_UNSPECIFIED: TranscribeTask
TRANSCRIBE_TASK_TRANSCRIBE: TranscribeTask
TRANSCRIBE_TASK_TRANSLATE: TranscribeTask
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_LENGTH: FinishReason

class ChatMessage(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class ChatRequest(_message.Message):
    __slots__ = ("prompt", "messages", "max_tokens", "temperature", "stop", "top_p", "seed")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    max_tokens: int
    temperature: float
    stop: _containers.RepeatedScalarFieldContainer[str]
    top_p: float
    seed: int
    def __init__(self, prompt: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., top_p: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class TranscribeRequest(_message.Message):
    __slots__ = ("audio", "format", "language", "task", "beam_size", "vad_filter", "prompt", "temperature")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    BEAM_SIZE_FIELD_NUMBER: _ClassVar[int]
    VAD_FILTER_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    format: AudioFormat
    language: str
    task: TranscribeTask
    beam_size: int
    vad_filter: bool
    prompt: str
    temperature: float
    def __init__(self, audio: _Optional[bytes] = ..., format: _Optional[_Union[AudioFormat, str]] = ..., language: _Optional[str] = ..., task: _Optional[_Union[TranscribeTask, str]] = ..., beam_size: _Optional[int] = ..., vad_filter: _Optional[bool] = ..., prompt: _Optional[str] = ..., temperature: _Optional[float] = ...) -> None: ...

class SpeakRequest(_message.Message):
    __slots__ = ("text", "voice", "text_temperature", "waveform_temperature", "speed")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    TEXT_TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    WAVEFORM_TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    text: str
    voice: str
    text_temperature: float
    waveform_temperature: float
    speed: float
    def __init__(self, text: _Optional[str] = ..., voice: _Optional[str] = ..., text_temperature: _Optional[float] = ..., waveform_temperature: _Optional[float] = ..., speed: _Optional[float] = ...) -> None: ...

class ImagineRequest(_message.Message):
    __slots__ = ("prompt", "negative_prompt", "width", "height", "steps", "guidance", "seed")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_PROMPT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    seed: int
    def __init__(self, prompt: _Optional[str] = ..., negative_prompt: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., steps: _Optional[int] = ..., guidance: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class VisionRequest(_message.Message):
    __slots__ = ("image", "prompt", "max_tokens")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    prompt: str
    max_tokens: int
    def __init__(self, image: _Optional[bytes] = ..., prompt: _Optional[str] = ..., max_tokens: _Optional[int] = ...) -> None: ...

class ConverseRequest(_message.Message):
    __slots__ = ("audio", "format", "language", "history", "max_tokens", "temperature", "voice", "transcribe_model", "chat_model", "speak_model")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIBE_MODEL_FIELD_NUMBER: _ClassVar[int]
    CHAT_MODEL_FIELD_NUMBER: _ClassVar[int]
    SPEAK_MODEL_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    format: AudioFormat
    language: str
    history: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    max_tokens: int
    temperature: float
    voice: str
    transcribe_model: str
    chat_model: str
    speak_model: str
    def __init__(self, audio: _Optional[bytes] = ..., format: _Optional[_Union[AudioFormat, str]] = ..., language: _Optional[str] = ..., history: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., voice: _Optional[str] = ..., transcribe_model: _Optional[str] = ..., chat_model: _Optional[str] = ..., speak_model: _Optional[str] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class IntentRequest(_message.Message):
    __slots__ = ("model", "chat", "transcribe", "speak", "imagine", "vision", "converse", "embed", "request_id")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIBE_FIELD_NUMBER: _ClassVar[int]
    SPEAK_FIELD_NUMBER: _ClassVar[int]
    IMAGINE_FIELD_NUMBER: _ClassVar[int]
    VISION_FIELD_NUMBER: _ClassVar[int]
    CONVERSE_FIELD_NUMBER: _ClassVar[int]
    EMBED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    model: str
    chat: ChatRequest
    transcribe: TranscribeRequest
    speak: SpeakRequest
    imagine: ImagineRequest
    vision: VisionRequest
    converse: ConverseRequest
    embed: EmbedRequest
    request_id: str
    def __init__(self, model: _Optional[str] = ..., chat: _Optional[_Union[ChatRequest, _Mapping]] = ..., transcribe: _Optional[_Union[TranscribeRequest, _Mapping]] = ..., speak: _Optional[_Union[SpeakRequest, _Mapping]] = ..., imagine: _Optional[_Union[ImagineRequest, _Mapping]] = ..., vision: _Optional[_Union[VisionRequest, _Mapping]] = ..., converse: _Optional[_Union[ConverseRequest, _Mapping]] = ..., embed: _Optional[_Union[EmbedRequest, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class TextOutput(_message.Message):
    __slots__ = ("text", "tokens", "finish_reason", "prompt_tokens")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    text: str
    tokens: int
    finish_reason: FinishReason
    prompt_tokens: int
    def __init__(self, text: _Optional[str] = ..., tokens: _Optional[int] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., prompt_tokens: _Optional[int] = ...) -> None: ...

class TranscriptSegment(_message.Message):
    __slots__ = ("start_s", "end_s", "text")
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    start_s: float
    end_s: float
    text: str
    def __init__(self, start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., text: _Optional[str] = ...) -> None: ...

class Transcript(_message.Message):
    __slots__ = ("text", "language", "segments", "duration_s")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    text: str
    language: str
    segments: _containers.RepeatedCompositeFieldContainer[TranscriptSegment]
    duration_s: float
    def __init__(self, text: _Optional[str] = ..., language: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[TranscriptSegment, _Mapping]]] = ..., duration_s: _Optional[float] = ...) -> None: ...

class Audio(_message.Message):
    __slots__ = ("wav", "sample_rate", "duration_s")
    WAV_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    wav: bytes
    sample_rate: int
    duration_s: float
    def __init__(self, wav: _Optional[bytes] = ..., sample_rate: _Optional[int] = ..., duration_s: _Optional[float] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("png", "width", "height", "seed")
    PNG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    width: int
    height: int
    seed: int
    def __init__(self, png: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("transcript", "answer", "audio")
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    transcript: Transcript
    answer: TextOutput
    audio: Audio
    def __init__(self, transcript: _Optional[_Union[Transcript, _Mapping]] = ..., answer: _Optional[_Union[TextOutput, _Mapping]] = ..., audio: _Optional[_Union[Audio, _Mapping]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class Embeddings(_message.Message):
    __slots__ = ("vectors", "dimensions", "prompt_tokens")
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    vectors: _containers.RepeatedCompositeFieldContainer[Embedding]
    dimensions: int
    prompt_tokens: int
    def __init__(self, vectors: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., dimensions: _Optional[int] = ..., prompt_tokens: _Optional[int] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("queue_wait_s", "processing_s", "cost")
    QUEUE_WAIT_S_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_S_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    queue_wait_s: float
    processing_s: float
    cost: float
    def __init__(self, queue_wait_s: _Optional[float] = ..., processing_s: _Optional[float] = ..., cost: _Optional[float] = ...) -> None: ...

class IntentResult(_message.Message):
    __slots__ = ("kind", "text", "transcript", "audio", "image", "conversation", "embeddings", "usage", "worker", "realm", "model")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    REALM_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    kind: Kind
    text: TextOutput
    transcript: Transcript
    audio: Audio
    image: Image
    conversation: Conversation
    embeddings: Embeddings
    usage: Usage
    worker: str
    realm: str
    model: str
    def __init__(self, kind: _Optional[_Union[Kind, str]] = ..., text: _Optional[_Union[TextOutput, _Mapping]] = ..., transcript: _Optional[_Union[Transcript, _Mapping]] = ..., audio: _Optional[_Union[Audio, _Mapping]] = ..., image: _Optional[_Union[Image, _Mapping]] = ..., conversation: _Optional[_Union[Conversation, _Mapping]] = ..., embeddings: _Optional[_Union[Embeddings, _Mapping]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., worker: _Optional[str] = ..., realm: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Accepted(_message.Message):
    __slots__ = ("intent_id", "queue_position")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    queue_position: int
    def __init__(self, intent_id: _Optional[str] = ..., queue_position: _Optional[int] = ...) -> None: ...

class Queued(_message.Message):
    __slots__ = ("queue_position", "queue_depth")
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    queue_position: int
    queue_depth: int
    def __init__(self, queue_position: _Optional[int] = ..., queue_depth: _Optional[int] = ...) -> None: ...

class Started(_message.Message):
    __slots__ = ("worker", "realm", "attempt", "reason")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    REALM_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    worker: str
    realm: str
    attempt: int
    reason: str
    def __init__(self, worker: _Optional[str] = ..., realm: _Optional[str] = ..., attempt: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Delta(_message.Message):
    __slots__ = ("text", "fraction", "stage")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    fraction: float
    stage: Kind
    def __init__(self, text: _Optional[str] = ..., fraction: _Optional[float] = ..., stage: _Optional[_Union[Kind, str]] = ...) -> None: ...

class Retrying(_message.Message):
    __slots__ = ("attempt", "reason")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    reason: str
    def __init__(self, attempt: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class IntentEvent(_message.Message):
    __slots__ = ("intent_id", "seq", "time", "accepted", "queued", "started", "delta", "retrying", "result", "failed")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RETRYING_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    seq: int
    time: _timestamp_pb2.Timestamp
    accepted: Accepted
    queued: Queued
    started: Started
    delta: Delta
    retrying: Retrying
    result: IntentResult
    failed: Error
    def __init__(self, intent_id: _Optional[str] = ..., seq: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted: _Optional[_Union[Accepted, _Mapping]] = ..., queued: _Optional[_Union[Queued, _Mapping]] = ..., started: _Optional[_Union[Started, _Mapping]] = ..., delta: _Optional[_Union[Delta, _Mapping]] = ..., retrying: _Optional[_Union[Retrying, _Mapping]] = ..., result: _Optional[_Union[IntentResult, _Mapping]] = ..., failed: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
