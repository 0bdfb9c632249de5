"""Pure translation between the mtor.v1 protobuf messages and the client's types.

Kept free of I/O so the sync and async clients share it and it can be tested
on plain messages. The `*_to_proto` directions exist for tests and for
anyone faking a realm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

from google.protobuf import timestamp_pb2

from mtor_client import kinds
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, realm_pb2
from mtor_client.errors import Internal, MtorError, error_from_status
from mtor_client.types import (
    Accepted,
    AudioResult,
    ChatMessage,
    ConversationResult,
    Delta,
    EmbeddingsResult,
    Event,
    Failed,
    Finished,
    ImageResult,
    IntentInfo,
    KindCapacity,
    Notice,
    Queued,
    RealmInfo,
    Result,
    Retrying,
    Started,
    TextResult,
    TranscriptResult,
    TranscriptSegment,
    Usage,
)

# ------------------------------------------------------------------ enums --

KIND_NUMBERS = kinds.NUMBERS

STATE_NUMBERS: dict[str, intent_pb2.IntentState] = {
    "queued": intent_pb2.INTENT_STATE_QUEUED,
    "running": intent_pb2.INTENT_STATE_RUNNING,
    "succeeded": intent_pb2.INTENT_STATE_SUCCEEDED,
    "failed": intent_pb2.INTENT_STATE_FAILED,
    "cancelled": intent_pb2.INTENT_STATE_CANCELLED,
}
STATE_NAMES: dict[int, str] = {number: name for name, number in STATE_NUMBERS.items()}

LEVEL_NUMBERS: dict[str, intents_pb2.NoticeLevel] = {
    "info": intents_pb2.NOTICE_LEVEL_INFO,
    "warning": intents_pb2.NOTICE_LEVEL_WARNING,
}
LEVEL_NAMES: dict[int, str] = {number: name for name, number in LEVEL_NUMBERS.items()}

AUDIO_FORMATS: dict[str, intent_pb2.AudioFormat] = {
    "": intent_pb2.AUDIO_FORMAT_UNSPECIFIED,
    "wav": intent_pb2.AUDIO_FORMAT_WAV,
    "webm": intent_pb2.AUDIO_FORMAT_WEBM,
    "ogg": intent_pb2.AUDIO_FORMAT_OGG,
    "mp3": intent_pb2.AUDIO_FORMAT_MP3,
    "flac": intent_pb2.AUDIO_FORMAT_FLAC,
}

FINISH_REASON_NUMBERS: dict[str, intent_pb2.FinishReason] = {
    "stop": intent_pb2.FINISH_REASON_STOP,
    "length": intent_pb2.FINISH_REASON_LENGTH,
}
FINISH_REASONS: dict[int, str] = {number: name for name, number in FINISH_REASON_NUMBERS.items()}

TRANSCRIBE_TASKS: dict[str, intent_pb2.TranscribeTask] = {
    "transcribe": intent_pb2.TRANSCRIBE_TASK_TRANSCRIBE,
    "translate": intent_pb2.TRANSCRIBE_TASK_TRANSLATE,
}

_MAX_REQUEST_ID_BYTES = 128

_E = TypeVar("_E", bound=int)


def kind_name(kind: int) -> str:
    """"chat", "transcribe", ...; "" for unset or unknown kinds."""
    return kinds.name_of(kind) or ""


def state_name(state: int) -> str:
    """"queued", "running", ...; "" for unset or unknown states."""
    return STATE_NAMES.get(state, "")


def _enum_number(numbers: Mapping[str, _E], name: str, what: str) -> _E:
    """The enum number for a name; "" is the enum's unset value 0."""
    if name == "":
        return cast(_E, 0)
    try:
        return numbers[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(numbers)}") from None


# ------------------------------------------------------------- timestamps --


def time_from_proto(ts: timestamp_pb2.Timestamp | None) -> datetime | None:
    """A timezone-aware UTC datetime; None for an unset (all-zero) timestamp."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime(tzinfo=timezone.utc)


def _set_time(ts: timestamp_pb2.Timestamp, when: datetime | None) -> None:
    if when is not None:
        ts.FromDatetime(when if when.tzinfo else when.replace(tzinfo=timezone.utc))


# ---------------------------------------------------------------- results --


def usage_from_proto(msg: intent_pb2.Usage) -> Usage:
    return Usage(queue_wait_s=msg.queue_wait_s, processing_s=msg.processing_s, cost=msg.cost)


def result_from_proto(msg: intent_pb2.IntentResult, intent_id: str = "") -> Result:
    """The typed result; its class follows the output set (or, if none is, the kind)."""
    common: dict[str, Any] = {
        "intent_id": intent_id,
        "kind": kind_name(msg.kind),
        "model": msg.model,
        "worker": msg.worker,
        "realm": msg.realm,
        "usage": usage_from_proto(msg.usage),
    }
    output = msg.WhichOneof("output")
    if output is None:
        output = {
            intent_pb2.KIND_TRANSCRIBE: "transcript",
            intent_pb2.KIND_SPEAK: "audio",
            intent_pb2.KIND_IMAGINE: "image",
            intent_pb2.KIND_EMBED: "embeddings",
        }.get(msg.kind, "text")
    if output == "transcript":
        t = msg.transcript
        segments = tuple(TranscriptSegment(s.start_s, s.end_s, s.text) for s in t.segments)
        return TranscriptResult(
            t.text, language=t.language, segments=segments, duration_s=t.duration_s, **common
        )
    if output == "conversation":
        c = msg.conversation
        return ConversationResult(
            cast(TranscriptResult, result_from_proto(intent_pb2.IntentResult(transcript=c.transcript))),
            cast(TextResult, result_from_proto(intent_pb2.IntentResult(text=c.answer))),
            cast(AudioResult, result_from_proto(intent_pb2.IntentResult(audio=c.audio))),
            **common,
        )
    if output == "audio":
        a = msg.audio
        return AudioResult(
            bytes(a.wav), sample_rate=a.sample_rate, duration_s=a.duration_s, **common
        )
    if output == "image":
        i = msg.image
        return ImageResult(
            bytes(i.png), width=i.width, height=i.height, seed=i.seed, **common
        )
    if output == "embeddings":
        e = msg.embeddings
        return EmbeddingsResult(tuple(tuple(v.values) for v in e.vectors), dimensions=e.dimensions,
                                prompt_tokens=e.prompt_tokens, **common)
    return TextResult(msg.text.text, tokens=msg.text.tokens, prompt_tokens=msg.text.prompt_tokens,
                      finish_reason=FINISH_REASONS.get(msg.text.finish_reason, ""), **common)


def result_to_proto(result: Result) -> intent_pb2.IntentResult:
    msg = intent_pb2.IntentResult(
        kind=_enum_number(KIND_NUMBERS, result.kind, "kind"),
        model=result.model,
        worker=result.worker,
        realm=result.realm,
        usage=intent_pb2.Usage(
            queue_wait_s=result.usage.queue_wait_s,
            processing_s=result.usage.processing_s,
            cost=result.usage.cost,
        ),
    )
    if isinstance(result, ConversationResult):
        msg.conversation.transcript.CopyFrom(result_to_proto(result.transcript).transcript)
        msg.conversation.answer.CopyFrom(result_to_proto(result.answer).text)
        msg.conversation.audio.CopyFrom(result_to_proto(result.audio).audio)
    elif isinstance(result, TextResult):
        msg.text.SetInParent()
        msg.text.text = result.text
        msg.text.tokens = result.tokens
        msg.text.prompt_tokens = result.prompt_tokens
        msg.text.finish_reason = _enum_number(FINISH_REASON_NUMBERS, result.finish_reason, "finish_reason")
    elif isinstance(result, TranscriptResult):
        msg.transcript.SetInParent()
        msg.transcript.text = result.text
        msg.transcript.language = result.language
        msg.transcript.duration_s = result.duration_s
        for s in result.segments:
            msg.transcript.segments.add(start_s=s.start_s, end_s=s.end_s, text=s.text)
    elif isinstance(result, AudioResult):
        msg.audio.CopyFrom(
            intent_pb2.Audio(
                wav=result.wav, sample_rate=result.sample_rate, duration_s=result.duration_s
            )
        )
    elif isinstance(result, ImageResult):
        msg.image.CopyFrom(
            intent_pb2.Image(
                png=result.png, width=result.width, height=result.height, seed=result.seed
            )
        )
    elif isinstance(result, EmbeddingsResult):
        msg.embeddings.CopyFrom(
            intent_pb2.Embeddings(
                vectors=[intent_pb2.Embedding(values=v) for v in result.vectors],
                dimensions=result.dimensions,
                prompt_tokens=result.prompt_tokens,
            )
        )
    else:
        raise TypeError(f"not a result: {result!r}")
    return msg


def error_from_proto(msg: intent_pb2.Error, intent_id: str | None = None) -> MtorError:
    return error_from_status(msg.code, msg.message, intent_id)


def error_to_proto(error: MtorError) -> intent_pb2.Error:
    return intent_pb2.Error(code=error.code.value[0], message=error.message)


# ----------------------------------------------------------------- events --


def event_from_proto(msg: intent_pb2.IntentEvent) -> Event | None:
    """The typed event; None for an event kind this client does not know yet."""
    which = msg.WhichOneof("event")
    intent_id = msg.intent_id or (msg.accepted.intent_id if which == "accepted" else "")
    common: dict[str, Any] = {
        "seq": msg.seq,
        "time": time_from_proto(msg.time) if msg.HasField("time") else None,
    }
    if which == "accepted":
        return Accepted(intent_id, msg.accepted.queue_position, **common)
    common["intent_id"] = intent_id
    if which == "queued":
        return Queued(msg.queued.queue_position, msg.queued.queue_depth, **common)
    if which == "started":
        s = msg.started
        return Started(s.worker, s.realm, s.attempt, s.reason, **common)
    if which == "delta":
        progress = msg.delta.WhichOneof("progress")
        stage = kind_name(msg.delta.stage) or None
        if progress == "text":
            return Delta(text=msg.delta.text, stage=stage, **common)
        if progress == "fraction":
            return Delta(fraction=msg.delta.fraction, stage=stage, **common)
        return Delta(stage=stage, **common)
    if which == "retrying":
        return Retrying(msg.retrying.attempt, msg.retrying.reason, **common)
    if which == "result":
        return Finished(result_from_proto(msg.result, intent_id), **common)
    if which == "failed":
        return Failed(error_from_proto(msg.failed, intent_id or None), **common)
    return None


def event_to_proto(event: Event) -> intent_pb2.IntentEvent:
    msg = intent_pb2.IntentEvent(intent_id=event.intent_id, seq=event.seq)
    _set_time(msg.time, event.time)
    if isinstance(event, Accepted):
        msg.accepted.SetInParent()
        msg.accepted.intent_id = event.intent_id
        msg.accepted.queue_position = event.queue_position
    elif isinstance(event, Queued):
        msg.queued.SetInParent()
        msg.queued.queue_position = event.queue_position
        msg.queued.queue_depth = event.queue_depth
    elif isinstance(event, Started):
        msg.started.CopyFrom(
            intent_pb2.Started(worker=event.worker, realm=event.realm, attempt=event.attempt, reason=event.reason)
        )
    elif isinstance(event, Delta):
        msg.delta.SetInParent()
        if event.text is not None:
            msg.delta.text = event.text
        elif event.fraction is not None:
            msg.delta.fraction = event.fraction
    elif isinstance(event, Retrying):
        msg.retrying.CopyFrom(intent_pb2.Retrying(attempt=event.attempt, reason=event.reason))
    elif isinstance(event, Finished):
        msg.result.CopyFrom(result_to_proto(event.result))
    elif isinstance(event, Failed):
        msg.failed.CopyFrom(error_to_proto(event.error))
    else:
        raise TypeError(f"not an event: {event!r}")
    return msg


def is_terminal(msg: intent_pb2.IntentEvent) -> bool:
    return msg.WhichOneof("event") in ("result", "failed")


# ------------------------------------------------------- intents, notices --


def info_from_proto(msg: intents_pb2.IntentInfo) -> IntentInfo:
    intent_id = msg.intent_id
    return IntentInfo(
        intent_id=intent_id,
        kind=kind_name(msg.kind),
        model=msg.model,
        state=state_name(msg.state),
        created_at=time_from_proto(msg.created_at) if msg.HasField("created_at") else None,
        started_at=time_from_proto(msg.started_at) if msg.HasField("started_at") else None,
        finished_at=time_from_proto(msg.finished_at) if msg.HasField("finished_at") else None,
        attempts=msg.attempts,
        worker=msg.worker,
        queue_position=msg.queue_position,
        result=result_from_proto(msg.result, intent_id) if msg.HasField("result") else None,
        error=error_from_proto(msg.error, intent_id or None) if msg.HasField("error") else None,
    )


def info_to_proto(info: IntentInfo) -> intents_pb2.IntentInfo:
    msg = intents_pb2.IntentInfo(
        intent_id=info.intent_id,
        kind=_enum_number(KIND_NUMBERS, info.kind, "kind"),
        model=info.model,
        state=_enum_number(STATE_NUMBERS, info.state, "state"),
        attempts=info.attempts,
        worker=info.worker,
        queue_position=info.queue_position,
    )
    _set_time(msg.created_at, info.created_at)
    _set_time(msg.started_at, info.started_at)
    _set_time(msg.finished_at, info.finished_at)
    if info.result is not None:
        msg.result.CopyFrom(result_to_proto(info.result))
    if info.error is not None:
        msg.error.CopyFrom(error_to_proto(info.error))
    return msg


def notice_from_proto(msg: intents_pb2.Notice) -> Notice:
    return Notice(
        time=time_from_proto(msg.time) if msg.HasField("time") else None,
        level=LEVEL_NAMES.get(msg.level, ""),
        text=msg.text,
        realm=msg.realm,
    )


def notice_to_proto(notice: Notice) -> intents_pb2.Notice:
    msg = intents_pb2.Notice(
        level=_enum_number(LEVEL_NUMBERS, notice.level, "notice level"),
        text=notice.text,
        realm=notice.realm,
    )
    _set_time(msg.time, notice.time)
    return msg


def realm_info_from_proto(msg: realm_pb2.DescribeResponse) -> RealmInfo:
    return RealmInfo(
        name=msg.name,
        id=msg.id,
        version=msg.version,
        protocol=msg.protocol,
        uptime_s=msg.uptime_s,
        kinds=tuple(
            KindCapacity(
                kind=kind_name(k.kind),
                workers=k.workers,
                free_slots=k.free_slots,
                queue_depth=k.queue_depth,
                models=tuple(k.models),
            )
            for k in msg.kinds
        ),
        running=msg.running,
    )


def realm_info_to_proto(info: RealmInfo) -> realm_pb2.DescribeResponse:
    return realm_pb2.DescribeResponse(
        name=info.name,
        version=info.version,
        protocol=info.protocol,
        uptime_s=info.uptime_s,
        kinds=[
            realm_pb2.KindCapacity(
                kind=_enum_number(KIND_NUMBERS, k.kind, "kind"),
                workers=k.workers,
                free_slots=k.free_slots,
                queue_depth=k.queue_depth,
                models=list(k.models),
            )
            for k in info.kinds
        ],
        running=info.running,
    )


# --------------------------------------------------------------- requests --
# Builders check only the caller mistakes that are cheap to spot here; the
# realm validates every field again and answers INVALID_ARGUMENT.


def _as_bytes(data: Any, what: str) -> bytes:
    if isinstance(data, str):
        raise TypeError(
            f"{what} must be bytes, not str (to send a file, pass Path(p).read_bytes())"
        )
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, not {type(data).__name__}")
    if len(data) == 0:
        raise ValueError(f"{what} is empty")
    return bytes(data)


def _check_count(value: int, what: str) -> int:
    if value < 0:
        raise ValueError(f"{what} must be 0 (the default) or more, not {value}")
    return value


def _intent(model: str, request_id: str) -> intent_pb2.IntentRequest:
    if len(request_id.encode()) > _MAX_REQUEST_ID_BYTES:
        raise ValueError(f"request_id is longer than {_MAX_REQUEST_ID_BYTES} bytes")
    return intent_pb2.IntentRequest(model=model, request_id=request_id)


def _chat_message(m: ChatMessage | Mapping[str, str] | tuple[str, str]) -> intent_pb2.ChatMessage:
    if isinstance(m, ChatMessage):
        return intent_pb2.ChatMessage(role=m.role, content=m.content)
    if isinstance(m, Mapping):
        return intent_pb2.ChatMessage(role=m["role"], content=m["content"])
    role, content = m
    return intent_pb2.ChatMessage(role=role, content=content)


def chat_request(
    prompt: str | None = None,
    *,
    messages: Iterable[ChatMessage | Mapping[str, str] | tuple[str, str]] | None = None,
    model: str = "",
    max_tokens: int = 0,
    temperature: float | None = None,
    stop: Iterable[str] | str = (),
    top_p: float | None = None,
    seed: int | None = None,
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """A chat intent from a prompt or a conversation (ChatMessage, dicts or (role, content) pairs)."""
    turns = [_chat_message(m) for m in messages] if messages is not None else []
    if prompt is not None and turns:
        raise ValueError("give either prompt or messages, not both")
    if prompt is None and not turns:
        raise ValueError("give a prompt or a non-empty list of messages")
    if temperature is not None and temperature < 0:
        raise ValueError(f"temperature must be 0.0 or more, not {temperature}")
    req = _intent(model, request_id)
    req.chat.SetInParent()
    if prompt is not None:
        req.chat.prompt = prompt
    req.chat.messages.extend(turns)
    req.chat.max_tokens = _check_count(max_tokens, "max_tokens")
    if temperature is not None:
        req.chat.temperature = temperature
    req.chat.stop.extend([stop] if isinstance(stop, str) else list(stop))
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be more than 0.0 and at most 1.0, not {top_p}")
        req.chat.top_p = top_p
    if seed is not None:
        req.chat.seed = seed
    return req


def transcribe_request(
    audio: bytes,
    *,
    format: str = "",
    language: str = "",
    task: str = "transcribe",
    beam_size: int = 0,
    vad_filter: bool | None = None,
    model: str = "",
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """A speech-to-text intent; format "" lets the worker sniff the bytes."""
    fmt = _enum_number(AUDIO_FORMATS, format.lower().lstrip("."), "audio format")
    task_number = _enum_number(TRANSCRIBE_TASKS, task.lower(), "task")
    req = _intent(model, request_id)
    req.transcribe.CopyFrom(
        intent_pb2.TranscribeRequest(
            audio=_as_bytes(audio, "audio"),
            format=fmt,
            language=language,
            task=task_number,
            beam_size=_check_count(beam_size, "beam_size"),
        )
    )
    if vad_filter is not None:
        req.transcribe.vad_filter = vad_filter
    return req


def speak_request(
    text: str,
    *,
    voice: str = "",
    text_temperature: float | None = None,
    waveform_temperature: float | None = None,
    speed: float | None = None,
    model: str = "",
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """A text-to-speech intent; unset knobs take the worker's defaults."""
    if not text:
        raise ValueError("text is empty")
    if speed is not None and speed <= 0:
        raise ValueError(f"speed must be above 0, not {speed}")
    req = _intent(model, request_id)
    req.speak.CopyFrom(intent_pb2.SpeakRequest(text=text, voice=voice))
    if text_temperature is not None:
        req.speak.text_temperature = text_temperature
    if waveform_temperature is not None:
        req.speak.waveform_temperature = waveform_temperature
    if speed is not None:
        req.speak.speed = speed
    return req


def imagine_request(
    prompt: str,
    *,
    negative_prompt: str = "",
    width: int = 0,
    height: int = 0,
    steps: int = 0,
    guidance: float | None = None,
    seed: int | None = None,
    model: str = "",
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """A text-to-image intent; 0 sizes mean 512 and unset seed means random."""
    if not prompt:
        raise ValueError("prompt is empty")
    req = _intent(model, request_id)
    req.imagine.CopyFrom(
        intent_pb2.ImagineRequest(
            prompt=prompt,
            negative_prompt=negative_prompt,
            width=_check_count(width, "width"),
            height=_check_count(height, "height"),
            steps=_check_count(steps, "steps"),
        )
    )
    if guidance is not None:
        req.imagine.guidance = guidance
    if seed is not None:
        req.imagine.seed = seed
    return req


def vision_request(
    image: bytes,
    prompt: str = "",
    *,
    max_tokens: int = 0,
    model: str = "",
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """An image-to-text intent; empty prompt means "describe this image"."""
    req = _intent(model, request_id)
    req.vision.CopyFrom(
        intent_pb2.VisionRequest(
            image=_as_bytes(image, "image"),
            prompt=prompt,
            max_tokens=_check_count(max_tokens, "max_tokens"),
        )
    )
    return req


def embed_request(
    texts: str | Iterable[str],
    *,
    model: str = "",
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """An embed intent: one text, or several (one vector each, in order)."""
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items:
        raise ValueError("give at least one text to embed")
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be str, not {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"texts[{i}] is empty")
    req = _intent(model, request_id)
    req.embed.texts.extend(items)
    return req


def converse_request(
    audio: bytes,
    *,
    format: str = "",
    language: str = "",
    history: Iterable[ChatMessage | Mapping[str, str] | tuple[str, str]] = (),
    max_tokens: int = 0,
    temperature: float | None = None,
    voice: str = "",
    transcribe_model: str = "",
    chat_model: str = "",
    speak_model: str = "",
    request_id: str = "",
) -> intent_pb2.IntentRequest:
    """A spoken question to be answered aloud (transcribe, chat, speak, composed by the realm)."""
    if temperature is not None and temperature < 0:
        raise ValueError(f"temperature must be 0.0 or more, not {temperature}")
    req = _intent("", request_id)
    req.converse.CopyFrom(
        intent_pb2.ConverseRequest(
            audio=_as_bytes(audio, "audio"),
            format=_enum_number(AUDIO_FORMATS, format.lower().lstrip("."), "audio format"),
            language=language,
            history=[_chat_message(m) for m in history],
            max_tokens=_check_count(max_tokens, "max_tokens"),
            voice=voice,
            transcribe_model=transcribe_model,
            chat_model=chat_model,
            speak_model=speak_model,
        )
    )
    if temperature is not None:
        req.converse.temperature = temperature
    return req


KindResult = TypeVar("KindResult", TextResult, TranscriptResult, AudioResult, ImageResult, ConversationResult,
                     EmbeddingsResult)


def expect_result(result: Result, cls: type[KindResult]) -> KindResult:
    """The result as the type the called method promises; Internal if the realm sent another kind."""
    if not isinstance(result, cls):
        raise Internal(
            f"realm answered with a {type(result).__name__}, expected a {cls.__name__}",
            intent_id=result.intent_id or None,
        )
    return result
