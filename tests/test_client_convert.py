"""The client SDK's pure parts: protobuf <-> typed values, request builders, errors.

No realm needed: everything here runs on real mtor.v1 messages.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import grpc
import pytest
from mtor_client import _convert as conv
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, realm_pb2
from mtor_client.errors import (
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    MtorError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    error_from_rpc,
    error_from_status,
)
from mtor_client.types import (
    Accepted,
    AudioResult,
    ChatMessage,
    Delta,
    EmbeddingsResult,
    Failed,
    Finished,
    ImageResult,
    IntentInfo,
    KindCapacity,
    Notice,
    Queued,
    RealmInfo,
    Retrying,
    Started,
    TextResult,
    TranscriptResult,
    TranscriptSegment,
    Usage,
)

T0 = datetime(2025, 3, 4, 5, 6, 7, 123000, tzinfo=timezone.utc)
USAGE = Usage(queue_wait_s=0.5, processing_s=2.25, cost=0.125)
COMMON = dict(intent_id="in-1", model="m", worker="w1", realm="r1", usage=USAGE)

RESULTS = [
    TextResult("hello", tokens=3, prompt_tokens=5, finish_reason="length", kind="chat", **COMMON),
    TextResult("a cat", tokens=2, kind="vision", **COMMON),
    TranscriptResult(
        "hi there",
        language="en",
        segments=(TranscriptSegment(0.0, 1.5, "hi"), TranscriptSegment(1.5, 2.0, "there")),
        duration_s=2.0,
        kind="transcribe",
        **COMMON,
    ),
    AudioResult(b"RIFF....WAVE", sample_rate=24000, duration_s=1.25, kind="speak", **COMMON),
    ImageResult(b"\x89PNG\r\n", width=640, height=480, seed=-42, kind="imagine", **COMMON),
    EmbeddingsResult(((0.5, -0.25), (1.0, 0.0)), dimensions=2, prompt_tokens=7, kind="embed", **COMMON),
]


# ---------------------------------------------------------------- results --


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.kind)
def test_result_round_trip(result):
    msg = conv.result_to_proto(result)
    back = conv.result_from_proto(intent_pb2.IntentResult.FromString(msg.SerializeToString()), "in-1")
    assert back == result
    assert type(back) is type(result)


def test_result_from_proto_reads_every_field():
    msg = intent_pb2.IntentResult(
        kind=intent_pb2.KIND_IMAGINE,
        image=intent_pb2.Image(png=b"png", width=3, height=4, seed=5),
        usage=intent_pb2.Usage(queue_wait_s=1, processing_s=2, cost=3),
        worker="w",
        realm="r",
        model="sd",
    )
    r = conv.result_from_proto(msg, "id9")
    assert isinstance(r, ImageResult)
    assert (r.png, r.width, r.height, r.seed) == (b"png", 3, 4, 5)
    assert (r.intent_id, r.kind, r.worker, r.realm, r.model) == ("id9", "imagine", "w", "r", "sd")
    assert r.usage == Usage(1.0, 2.0, 3.0)


def test_result_without_output_follows_kind():
    r = conv.result_from_proto(intent_pb2.IntentResult(kind=intent_pb2.KIND_SPEAK))
    assert isinstance(r, AudioResult) and r.wav == b""
    r = conv.result_from_proto(intent_pb2.IntentResult(kind=intent_pb2.KIND_CHAT))
    assert isinstance(r, TextResult) and r.text == ""


def test_save_writes_the_bytes(tmp_path: Path):
    audio, image = RESULTS[3], RESULTS[4]
    assert audio.save(tmp_path / "a.wav").read_bytes() == audio.wav
    assert image.save(str(tmp_path / "i.png")) == tmp_path / "i.png"
    assert (tmp_path / "i.png").read_bytes() == image.png


def test_big_bytes_stay_out_of_repr():
    assert "RIFF" not in repr(RESULTS[3])
    assert "sample_rate=24000" in repr(RESULTS[3])


def test_expect_result_rejects_the_wrong_kind():
    assert conv.expect_result(RESULTS[0], TextResult) is RESULTS[0]
    with pytest.raises(Internal) as info:
        conv.expect_result(RESULTS[3], TextResult)
    assert info.value.intent_id == "in-1"


# ----------------------------------------------------------------- events --

EVENTS = [
    Accepted("in-1", 4, seq=1, time=T0),
    Accepted("in-1", 0, seq=1),
    Queued(2, 7, seq=2, intent_id="in-1"),
    Started("w1", "r1", 2, seq=3, intent_id="in-1"),
    Delta(text="chunk", seq=4, intent_id="in-1"),
    Delta(text="", seq=4, intent_id="in-1"),
    Delta(fraction=0.5, seq=5, intent_id="in-1"),
    Delta(seq=5, intent_id="in-1"),
    Retrying(3, "worker vanished", seq=6, intent_id="in-1"),
    Finished(RESULTS[0], seq=7, intent_id="in-1"),
    Finished(RESULTS[3], seq=7, intent_id="in-1"),
    Failed(NotFound("gone", intent_id="in-1"), seq=8, intent_id="in-1"),
    Failed(MtorError("odd", code=grpc.StatusCode.ABORTED, intent_id="in-1"), seq=8, intent_id="in-1"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_event_round_trip(event):
    msg = conv.event_to_proto(event)
    back = conv.event_from_proto(intent_pb2.IntentEvent.FromString(msg.SerializeToString()))
    assert back == event
    assert type(back) is type(event)
    assert back.time == event.time


def test_event_oneofs_map_to_classes():
    which = {
        type(e).__name__: conv.event_to_proto(e).WhichOneof("event") for e in EVENTS
    }
    assert which == {
        "Accepted": "accepted",
        "Queued": "queued",
        "Started": "started",
        "Delta": "delta",
        "Retrying": "retrying",
        "Finished": "result",
        "Failed": "failed",
    }


def test_event_time_is_utc_aware():
    msg = intent_pb2.IntentEvent(intent_id="x", seq=1, queued=intent_pb2.Queued(queue_position=1))
    msg.time.FromDatetime(T0)
    event = conv.event_from_proto(msg)
    assert event.time == T0 and event.time.tzinfo is not None
    no_time = conv.event_from_proto(intent_pb2.IntentEvent(intent_id="x", seq=1, queued={}))
    assert no_time.time is None


def test_failed_event_becomes_subclass_with_intent_id():
    msg = intent_pb2.IntentEvent(
        intent_id="in-7", seq=9, failed=intent_pb2.Error(code=4, message="queue wait limit")
    )
    event = conv.event_from_proto(msg)
    assert isinstance(event, Failed)
    assert isinstance(event.error, DeadlineExceeded)
    assert event.error.intent_id == "in-7"
    assert str(event.error) == "DEADLINE_EXCEEDED: queue wait limit"


def test_finished_event_result_gets_intent_id():
    msg = intent_pb2.IntentEvent(
        intent_id="in-3",
        seq=5,
        result=intent_pb2.IntentResult(kind=intent_pb2.KIND_CHAT, text=intent_pb2.TextOutput(text="ok")),
    )
    event = conv.event_from_proto(msg)
    assert isinstance(event, Finished)
    assert event.result.intent_id == "in-3" and event.result.text == "ok"


def test_accepted_without_outer_intent_id_uses_inner():
    msg = intent_pb2.IntentEvent(seq=1, accepted=intent_pb2.Accepted(intent_id="inner"))
    assert conv.event_from_proto(msg).intent_id == "inner"


def test_unknown_event_is_none():
    assert conv.event_from_proto(intent_pb2.IntentEvent(intent_id="x", seq=3)) is None
    assert not conv.is_terminal(intent_pb2.IntentEvent(seq=3))
    assert conv.is_terminal(conv.event_to_proto(EVENTS[-1]))


# ------------------------------------------------------- intents, notices --


def test_intent_info_round_trip_succeeded():
    info = IntentInfo(
        intent_id="in-1",
        kind="chat",
        model="m",
        state="succeeded",
        created_at=T0,
        started_at=T0.replace(second=8),
        finished_at=T0.replace(second=9),
        attempts=2,
        worker="w1",
        queue_position=0,
        result=RESULTS[0],
    )
    msg = conv.info_to_proto(info)
    assert msg.state == intent_pb2.INTENT_STATE_SUCCEEDED and msg.kind == intent_pb2.KIND_CHAT
    back = conv.info_from_proto(intents_pb2.IntentInfo.FromString(msg.SerializeToString()))
    assert back == info
    assert back.created_at.tzinfo is not None


def test_intent_info_queued_and_failed():
    queued = intents_pb2.IntentInfo(
        intent_id="q", kind=intent_pb2.KIND_SPEAK, state=intent_pb2.INTENT_STATE_QUEUED, queue_position=3
    )
    queued.created_at.FromDatetime(T0)
    info = conv.info_from_proto(queued)
    assert (info.state, info.kind, info.queue_position) == ("queued", "speak", 3)
    assert info.created_at == T0 and info.started_at is None and info.finished_at is None
    assert info.result is None and info.error is None

    failed = intents_pb2.IntentInfo(
        intent_id="f",
        state=intent_pb2.INTENT_STATE_CANCELLED,
        error=intent_pb2.Error(code=1, message="cancelled by caller"),
    )
    info = conv.info_from_proto(failed)
    assert info.state == "cancelled"
    assert isinstance(info.error, Cancelled) and info.error.intent_id == "f"


def test_state_names():
    assert [conv.state_name(s) for s in range(6)] == [
        "",
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
    ]


def test_notice_round_trip():
    for notice in (Notice(T0, "warning", "worker w1 lost", "r1"), Notice(None, "info", "hi", "")):
        msg = conv.notice_to_proto(notice)
        back = conv.notice_from_proto(intents_pb2.Notice.FromString(msg.SerializeToString()))
        assert back == notice
    assert conv.notice_to_proto(Notice(T0, "warning", "x")).level == intents_pb2.NOTICE_LEVEL_WARNING


def test_realm_info_round_trip():
    info = RealmInfo(
        name="lab",
        version="0.1.0",
        protocol=1,
        uptime_s=12.5,
        kinds=(
            KindCapacity("chat", workers=2, free_slots=3, queue_depth=1, models=("llama", "qwen")),
            KindCapacity("speak"),
        ),
        running=4,
    )
    msg = conv.realm_info_to_proto(info)
    assert [k.kind for k in msg.kinds] == [intent_pb2.KIND_CHAT, intent_pb2.KIND_SPEAK]
    back = conv.realm_info_from_proto(realm_pb2.DescribeResponse.FromString(msg.SerializeToString()))
    assert back == info


# --------------------------------------------------------------- requests --


def test_chat_request_with_prompt():
    req = conv.chat_request(
        "why?", model="llama", max_tokens=64, temperature=0.0, stop=["\n\n", "END"], request_id="r1"
    )
    assert req.WhichOneof("payload") == "chat"
    assert (req.model, req.request_id) == ("llama", "r1")
    assert req.chat.prompt == "why?" and len(req.chat.messages) == 0
    assert req.chat.max_tokens == 64
    assert req.chat.HasField("temperature") and req.chat.temperature == 0.0
    assert list(req.chat.stop) == ["\n\n", "END"]


def test_chat_request_with_messages_in_every_form():
    req = conv.chat_request(
        messages=[
            ChatMessage("system", "be brief"),
            {"role": "user", "content": "hi"},
            ("assistant", "hello"),
        ],
        stop="\n",
    )
    assert [(m.role, m.content) for m in req.chat.messages] == [
        ("system", "be brief"),
        ("user", "hi"),
        ("assistant", "hello"),
    ]
    assert req.chat.prompt == ""
    assert not req.chat.HasField("temperature")
    assert list(req.chat.stop) == ["\n"]  # a lone string is one stop, not its characters


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(prompt="a", messages=[ChatMessage("user", "b")]),
        dict(),
        dict(messages=[]),
        dict(prompt="a", max_tokens=-1),
        dict(prompt="a", temperature=-0.5),
        dict(prompt="a", request_id="x" * 129),
    ],
)
def test_chat_request_rejects_caller_mistakes(kwargs):
    with pytest.raises(ValueError):
        conv.chat_request(**kwargs)


def test_transcribe_request():
    req = conv.transcribe_request(
        b"RIFF", format="WAV", language="de", task="translate", beam_size=2, vad_filter=False, model="tiny"
    )
    assert req.WhichOneof("payload") == "transcribe"
    t = req.transcribe
    assert (t.audio, t.format, t.language, t.task, t.beam_size) == (
        b"RIFF",
        intent_pb2.AUDIO_FORMAT_WAV,
        "de",
        intent_pb2.TRANSCRIBE_TASK_TRANSLATE,
        2,
    )
    assert t.HasField("vad_filter") and t.vad_filter is False
    assert req.model == "tiny"


def test_transcribe_request_defaults_and_formats():
    req = conv.transcribe_request(bytearray(b"x"))
    assert req.transcribe.format == intent_pb2.AUDIO_FORMAT_UNSPECIFIED
    assert req.transcribe.task == intent_pb2.TRANSCRIBE_TASK_TRANSCRIBE
    assert not req.transcribe.HasField("vad_filter")
    formats = {f: conv.transcribe_request(b"x", format=f).transcribe.format for f in ("webm", "ogg", "mp3", ".flac")}
    assert formats == {
        "webm": intent_pb2.AUDIO_FORMAT_WEBM,
        "ogg": intent_pb2.AUDIO_FORMAT_OGG,
        "mp3": intent_pb2.AUDIO_FORMAT_MP3,
        ".flac": intent_pb2.AUDIO_FORMAT_FLAC,
    }


@pytest.mark.parametrize(
    "audio, kwargs, exc",
    [
        (b"x", dict(format="aiff"), ValueError),
        (b"x", dict(task="summarise"), ValueError),
        (b"", {}, ValueError),
        ("speech.wav", {}, TypeError),
        (b"x", dict(beam_size=-1), ValueError),
    ],
)
def test_transcribe_request_rejects_caller_mistakes(audio, kwargs, exc):
    with pytest.raises(exc):
        conv.transcribe_request(audio, **kwargs)


def test_speak_request():
    req = conv.speak_request("hello", voice="v2/en_speaker_6", speed=1.5, model="bark")
    assert req.WhichOneof("payload") == "speak"
    s = req.speak
    assert (s.text, s.voice, s.speed) == ("hello", "v2/en_speaker_6", 1.5)
    assert not s.HasField("text_temperature") and not s.HasField("waveform_temperature")
    req = conv.speak_request("x", text_temperature=0.25, waveform_temperature=0.5)
    assert (req.speak.text_temperature, req.speak.waveform_temperature) == (0.25, 0.5)
    assert not req.speak.HasField("speed")
    with pytest.raises(ValueError):
        conv.speak_request("")
    with pytest.raises(ValueError):
        conv.speak_request("x", speed=0)


def test_imagine_request():
    req = conv.imagine_request(
        "a fox", negative_prompt="blur", width=768, height=512, steps=20, guidance=5.0, seed=0, model="sd"
    )
    assert req.WhichOneof("payload") == "imagine"
    i = req.imagine
    assert (i.prompt, i.negative_prompt, i.width, i.height, i.steps) == ("a fox", "blur", 768, 512, 20)
    assert i.HasField("guidance") and i.guidance == 5.0
    assert i.HasField("seed") and i.seed == 0  # seed 0 is a real seed, not "random"
    plain = conv.imagine_request("a fox").imagine
    assert not plain.HasField("seed") and not plain.HasField("guidance")
    with pytest.raises(ValueError):
        conv.imagine_request("")
    with pytest.raises(ValueError):
        conv.imagine_request("x", width=-1)


def test_vision_request():
    req = conv.vision_request(b"\x89PNG", "what is it?", max_tokens=10, model="llava", request_id="v")
    assert req.WhichOneof("payload") == "vision"
    assert (req.vision.image, req.vision.prompt, req.vision.max_tokens) == (b"\x89PNG", "what is it?", 10)
    assert (req.model, req.request_id) == ("llava", "v")
    with pytest.raises(TypeError):
        conv.vision_request("cat.png")
    with pytest.raises(ValueError):
        conv.vision_request(b"")


def test_embed_request():
    req = conv.embed_request(["one", "two"], model="vec", request_id="e")
    assert req.WhichOneof("payload") == "embed"
    assert (list(req.embed.texts), req.model, req.request_id) == (["one", "two"], "vec", "e")
    assert list(conv.embed_request("just one").embed.texts) == ["just one"]
    with pytest.raises(ValueError):
        conv.embed_request([])
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        conv.embed_request(["a", " "])
    with pytest.raises(TypeError):
        conv.embed_request([1, 2])  # type: ignore[list-item]


# ----------------------------------------------------------------- errors --

SUBCLASSES = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.INTERNAL: Internal,
}


@pytest.mark.parametrize("code", list(SUBCLASSES), ids=lambda c: c.name)
def test_error_from_status_picks_subclass(code):
    err = error_from_status(code.value[0], "boom", "id1")
    assert type(err) is SUBCLASSES[code]
    assert isinstance(err, MtorError)
    assert (err.code, err.message, err.intent_id) == (code, "boom", "id1")
    assert type(error_from_status(code, "boom")) is SUBCLASSES[code]


def test_error_from_status_falls_back_to_base():
    err = error_from_status(grpc.StatusCode.ABORTED.value[0], "conflict")
    assert type(err) is MtorError and err.code is grpc.StatusCode.ABORTED
    assert type(error_from_status(999, "?")) is MtorError
    assert error_from_status(999, "?").code is grpc.StatusCode.UNKNOWN
    assert error_from_status(0, "not an error").code is grpc.StatusCode.UNKNOWN


def test_error_str_and_pickle():
    err = NotFound("no intent with id 'x'", intent_id="x")
    assert str(err) == "NOT_FOUND: no intent with id 'x'"
    assert err.intent_id == "x" and err.code is grpc.StatusCode.NOT_FOUND
    back = pickle.loads(pickle.dumps(err))
    assert back == err and type(back) is NotFound and back.intent_id == "x"
    assert str(MtorError(code=grpc.StatusCode.ABORTED)) == "ABORTED"


class _FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str | None) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str | None:
        return self._details


def test_error_from_rpc():
    err = error_from_rpc(_FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full"))
    assert isinstance(err, ResourceExhausted) and str(err) == "RESOURCE_EXHAUSTED: queue full"
    err = error_from_rpc(_FakeRpcError(grpc.StatusCode.UNAVAILABLE, None), intent_id="i")
    assert isinstance(err, Unavailable) and err.message == "" and err.intent_id == "i"
    bare = error_from_rpc(grpc.RpcError("no status"))
    assert type(bare) is MtorError and bare.code is grpc.StatusCode.UNKNOWN


# ------------------------------------------------------------------ import --


def test_import_pulls_in_no_server_worker_or_torch():
    code = (
        "import mtor_client, sys; "
        "bad = [m for m in sys.modules if m.startswith(('mtor_server', 'mtor_worker', 'torch'))]; "
        "assert not bad, bad; "
        "assert mtor_client.__version__ == '0.1.0'; "
        "assert mtor_client.Client and mtor_client.AsyncClient"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_chat_request_carries_top_p_and_seed_and_checks_top_p():
    req = conv.chat_request("hi", top_p=0.5, seed=-7)
    assert req.chat.top_p == 0.5 and req.chat.seed == -7
    plain = conv.chat_request("hi")
    assert not plain.chat.HasField("top_p") and not plain.chat.HasField("seed")
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="top_p"):
            conv.chat_request("hi", top_p=bad)
