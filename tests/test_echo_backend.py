"""The echo backend's outputs are valid media and deterministic; its test hooks work."""
from __future__ import annotations

import asyncio
import io
import struct
import time
import wave
import zlib

import grpc
import pytest
from mtor_client._proto.mtor.v1 import intent_pb2 as ip

from mtor_common.config import Config, WorkerSection
from mtor_worker import media
from mtor_worker.backends import BackendError, Job, create_backend, known_backends
from mtor_worker.backends.echo import EchoBackend


def serve(request: ip.IntentRequest, *, delay: float = 0.0, model: str = "",
          cancel_after: float | None = None) -> tuple[ip.IntentResult, list[ip.Delta]]:
    """Run one request through a fresh echo backend; returns (result, deltas)."""
    async def go() -> tuple[ip.IntentResult, list[ip.Delta]]:
        deltas: list[ip.Delta] = []
        job = Job(request=request, kind=str(request.WhichOneof("payload")), model=model,
                  on_delta=deltas.append)
        backend = EchoBackend(WorkerSection(echo_delay_s=delay))
        if cancel_after is not None:
            asyncio.get_running_loop().call_later(cancel_after, job.cancelled.set)
        return await backend.run(job), deltas
    return asyncio.run(go())


def code_of(excinfo: pytest.ExceptionInfo[BackendError]) -> grpc.StatusCode:
    return next(s for s in grpc.StatusCode if s.value[0] == excinfo.value.code)


def chat(prompt: str) -> ip.IntentRequest:
    return ip.IntentRequest(chat=ip.ChatRequest(prompt=prompt))


def test_registry() -> None:
    assert "echo" in known_backends()
    assert isinstance(create_backend(" Echo ", Config()), EchoBackend)
    with pytest.raises(ValueError, match="known backends: .*echo"):
        create_backend("nope", Config())


def test_serves_every_kind_with_any_model() -> None:
    caps = EchoBackend(WorkerSection()).capabilities()
    assert sorted(c.kind for c in caps) == ["chat", "embed", "imagine", "speak", "transcribe", "vision"]
    assert all(c.models == [] for c in caps)


def test_chat_streams_word_chunks() -> None:
    result, deltas = serve(chat("hello  big world"))
    assert result.text.text == "echo: hello  big world"
    assert [d.text for d in deltas] == ["echo: ", "hello  ", "big ", "world"]
    assert result.text.tokens == 4
    assert result.model == "echo"


def test_chat_uses_last_user_message_and_model() -> None:
    request = ip.IntentRequest(chat=ip.ChatRequest(messages=[
        ip.ChatMessage(role="system", content="be nice"),
        ip.ChatMessage(role="user", content="first"),
        ip.ChatMessage(role="assistant", content="echo: first"),
        ip.ChatMessage(role="user", content="second"),
    ]))
    result, _ = serve(request, model="llama-3")
    assert result.text.text == "echo: second"
    assert result.model == "llama-3"


@pytest.mark.parametrize("request_", [
    chat(""),
    chat("   "),
    ip.IntentRequest(chat=ip.ChatRequest(messages=[ip.ChatMessage(role="system", content="x")])),
    ip.IntentRequest(speak=ip.SpeakRequest(text="")),
    ip.IntentRequest(imagine=ip.ImagineRequest(width=100000)),
])
def test_invalid_input_is_invalid_argument(request_: ip.IntentRequest) -> None:
    with pytest.raises(BackendError) as excinfo:
        serve(request_)
    assert code_of(excinfo) == grpc.StatusCode.INVALID_ARGUMENT


def test_fail_hook() -> None:
    with pytest.raises(BackendError) as excinfo:
        serve(chat("!fail please"))
    assert code_of(excinfo) == grpc.StatusCode.INTERNAL
    assert excinfo.value.message == "echo: asked to fail"


def test_sleep_hook_sleeps_and_answers() -> None:
    start = time.monotonic()
    result, _ = serve(chat("!sleep 0.3 then answer"))
    assert time.monotonic() - start >= 0.3
    assert result.text.text == "echo: !sleep 0.3 then answer"


def test_sleep_hook_honours_cancelled_event() -> None:
    start = time.monotonic()
    with pytest.raises(BackendError) as excinfo:
        serve(chat("!sleep 30"), cancel_after=0.1)
    assert code_of(excinfo) == grpc.StatusCode.CANCELLED
    assert time.monotonic() - start < 1.0


def test_echo_delay_paces_chunks() -> None:
    start = time.monotonic()
    serve(chat("a b c"), delay=0.05)  # four chunks: "echo: ", "a ", "b ", "c"
    assert time.monotonic() - start >= 0.2


def test_transcribe_reads_wav_duration() -> None:
    wav = media.encode_wav(b"\x00\x00" * 8000 * 3, 8000)
    result, deltas = serve(ip.IntentRequest(transcribe=ip.TranscribeRequest(audio=wav, language="de")))
    t = result.transcript
    assert t.text == f"echo: {len(wav)} bytes of audio"
    assert t.language == "de"
    assert t.duration_s == pytest.approx(3.0)
    assert [(s.start_s, s.end_s, s.text) for s in t.segments] == [(0.0, pytest.approx(3.0), t.text)]
    assert deltas[-1].fraction == 1.0


def test_transcribe_non_wav() -> None:
    result, _ = serve(ip.IntentRequest(transcribe=ip.TranscribeRequest(audio=b"not audio")))
    assert result.transcript.duration_s == 0.0
    assert result.transcript.language == "en"
    assert result.transcript.text == "echo: 9 bytes of audio"


def test_speak_makes_a_valid_wav() -> None:
    result, _ = serve(ip.IntentRequest(speak=ip.SpeakRequest(text="one two three four")))
    audio = result.audio
    with wave.open(io.BytesIO(audio.wav), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() == 4 * 1600
        samples = struct.unpack(f"<{w.getnframes()}h", w.readframes(w.getnframes()))
    assert 0 < max(samples) < 32767 // 4  # a quiet tone, not silence
    assert audio.sample_rate == 16000
    assert audio.duration_s == pytest.approx(0.4)


def _png_pixels(png: bytes) -> bytes:
    """Concatenated IDAT data, inflated (filter bytes included)."""
    pos, idat = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0]
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        if kind == b"IDAT":
            idat += data
        pos += 12 + length
    return zlib.decompress(idat)


def test_imagine_makes_a_valid_png_with_progress() -> None:
    result, deltas = serve(ip.IntentRequest(imagine=ip.ImagineRequest(prompt="a cat", seed=7)))
    image = result.image
    assert media.png_size(image.png) == (512, 512)
    assert image.png[12:16] == b"IHDR" and image.png[24:26] == bytes([8, 2])  # 8-bit RGB
    assert (image.width, image.height, image.seed) == (512, 512, 7)
    assert len(_png_pixels(image.png)) == 512 * (1 + 512 * 3)
    fractions = [d.fraction for d in deltas]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 4


def test_imagine_is_deterministic_per_seed_and_sized() -> None:
    req = ip.IntentRequest(imagine=ip.ImagineRequest(prompt="x", width=40, height=20, steps=10, seed=3))
    first, deltas = serve(req)
    second, _ = serve(req)
    assert first.image.png == second.image.png
    assert media.png_size(first.image.png) == (40, 20)
    assert [round(d.fraction, 2) for d in deltas] == [round(i / 10, 2) for i in range(1, 11)]
    other, _ = serve(ip.IntentRequest(imagine=ip.ImagineRequest(width=40, height=20, seed=4)))
    assert other.image.png != first.image.png


def test_imagine_without_seed_reports_the_one_used() -> None:
    result, _ = serve(ip.IntentRequest(imagine=ip.ImagineRequest(width=8, height=8)))
    again, _ = serve(ip.IntentRequest(imagine=ip.ImagineRequest(width=8, height=8, seed=result.image.seed)))
    assert result.image.png == again.image.png


def test_vision_default_prompt() -> None:
    result, deltas = serve(ip.IntentRequest(vision=ip.VisionRequest(image=b"12345")))
    assert result.text.text == "echo: Describe this image in detail (5 bytes of image)"
    assert "".join(d.text for d in deltas) == result.text.text
    result, _ = serve(ip.IntentRequest(vision=ip.VisionRequest(image=b"1", prompt="what is it")))
    assert result.text.text == "echo: what is it (1 bytes of image)"


def test_embed_gives_one_unit_vector_per_text_the_same_for_the_same_text() -> None:
    request = ip.IntentRequest(embed=ip.EmbedRequest(texts=["hello world", "another text", "hello world"]))
    result, deltas = serve(request, model="vec")
    out = result.embeddings
    assert (len(out.vectors), out.dimensions, out.prompt_tokens, result.model, deltas) == (3, 16, 6, "vec", [])
    assert all(len(v.values) == 16 for v in out.vectors)
    assert all(abs(sum(x * x for x in v.values) - 1.0) < 1e-5 for v in out.vectors)
    assert list(out.vectors[0].values) == list(out.vectors[2].values) != list(out.vectors[1].values)
    assert list(serve(request)[0].embeddings.vectors[1].values) == list(out.vectors[1].values)  # deterministic


def test_embed_hooks_and_empty_text() -> None:
    with pytest.raises(BackendError) as e:
        serve(ip.IntentRequest(embed=ip.EmbedRequest(texts=["!fail now"])))
    assert code_of(e) == grpc.StatusCode.INTERNAL
    with pytest.raises(BackendError) as e:
        serve(ip.IntentRequest(embed=ip.EmbedRequest(texts=["fine", " "])))
    assert code_of(e) == grpc.StatusCode.INVALID_ARGUMENT


def test_the_embeddings_output_refuses_what_the_realm_would_not_read() -> None:
    from mtor_worker.backends.base import embeddings

    assert embeddings([[1.0, 0.0], [0.0, 1.0]], 3, "m").dimensions == 2
    for ragged_or_nan in ([[1.0, 0.0], [1.0]], [[]], [[float("nan"), 1.0]], [[float("inf")]]):
        with pytest.raises(BackendError) as e:
            embeddings(ragged_or_nan, 0, "model-x")
        assert code_of(e) == grpc.StatusCode.INTERNAL and e.value.message.startswith("model-x: ")
