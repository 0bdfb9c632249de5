"""OpenAI-compatible engines join the realm as workers: the upstream backend
against real servers on 127.0.0.1: llama.cpp's (llama_cpp.server) for chat and embed,
faster-whisper-server for transcribe and loudness-tts for speak, each with a
starter model."""
from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import wave
from pathlib import Path
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm, wait_until
from mtor_client import Client, Delta, Finished, Internal, InvalidArgument
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_worker import media, starter

SENTENCE = "The quick brown fox jumps over the lazy dog."
# loudness-tts 0.1.1's HTTP handler looks every voice up in its online catalogue, so `loudness-tts serve
# --offline --voice file.onnx` answers OFFLINE: this runs its own server with the default voice looked up
# as that local file (its engine loads local .onnx voices itself); named voices still go to the catalogue.
LOUDNESS_TTS = """
import sys
from loudness_tts import server
from loudness_tts.engine import TTS
tts = TTS(sys.argv[1], offline=True)
local, lookup = tts.preload(), server.find_voice
server.find_voice = lambda name, language=None: local if name in (None, "", "auto") else lookup(name, language)
server.serve("127.0.0.1", int(sys.argv[2]), tts=tts, preload=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def serve(args: list[str], log: Path, ready: str, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run a server until the module's tests are done; yields its /v1 base URL once its log says `ready`."""
    server = subprocess.Popen([sys.executable, *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                              env={**os.environ, **(env or {})})
    try:
        wait_until(lambda: ready in log.read_text() or server.poll() is not None, 60, what=f"{args[1]} to listen")
        assert server.poll() is None, log.read_text()
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    yield from serve(["-m", "llama_cpp.server", "--model", str(starter.chat_model()), "--model_alias", "smollm2",
                      "--host", "127.0.0.1", "--port", str(port)],
                     tmp_path_factory.mktemp("engine") / "server.log", "Uvicorn running", port)


@pytest.fixture(scope="module")
def realm(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    cluster = Cluster(tmp_path_factory.mktemp("upstream"))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "vllm-box", backends="upstream", env={"MTOR_UPSTREAM_URL": engine})
        yield realm
    finally:
        cluster.stop()


def test_chat_streams_through_the_upstream_engine(realm):
    kinds = realm.describe().kinds
    assert [(k.kind, list(k.models)) for k in kinds] == [(1, ["smollm2"])]  # its /models, advertised
    events = []
    with Client(realm.address) as client:
        result = client.chat("What is the capital of France?", model="smollm2", temperature=0.0, max_tokens=32,
                             on_event=events.append, timeout=120)
    assert result.worker == "vllm-box" and result.model == "smollm2" and result.text.strip()
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert len(deltas) > 1 and "".join(deltas) == result.text and isinstance(events[-1], Finished)


def test_top_p_and_seed_reach_the_upstream_engine(realm):
    def answer(**sampling) -> str:
        request = intent_pb2.IntentRequest(model="smollm2", chat=intent_pb2.ChatRequest(
            prompt="Tell me a story.", max_tokens=12, temperature=1.0, **sampling))
        with Client(realm.address) as client:
            return "".join(e.text for e in client.submit(request, timeout=120) if isinstance(e, Delta))

    assert answer(seed=3) == answer(seed=3)  # the engine sampled with the seed sent
    # so small a nucleus holds only the likeliest token: any seed answers the same
    assert answer(top_p=1e-6, seed=1) == answer(top_p=1e-6, seed=2)


def test_an_upstream_failure_is_reported_and_the_worker_keeps_serving(realm):
    with Client(realm.address) as client:
        with pytest.raises(Internal) as e:  # far beyond the engine's context window: it gives up mid-stream
            client.chat("word " * 5000, model="smollm2", max_tokens=4, timeout=120)
        assert "ended the stream before it finished" in e.value.message
        assert client.chat("Hello", model="smollm2", max_tokens=4, timeout=120).text


def test_an_unreachable_upstream_is_not_served(tmp_path: Path):
    cluster = Cluster(tmp_path)
    try:
        realm = cluster.realm()
        worker = cluster.worker(realm, "nowhere", backends="upstream,echo",
                                env={"MTOR_UPSTREAM_URL": f"http://127.0.0.1:{free_port()}/v1"})
        assert "unreachable" in worker.output() or "Connection refused" in worker.output()
        chat = next(k for k in realm.describe().kinds if k.kind == 1)
        assert chat.workers == 1 and list(chat.models) == []  # echo's "any model", not an upstream's list
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def whisper_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    yield from serve(["-m", "faster_whisper_server", str(starter.whisper_model()), "--host", "127.0.0.1",
                      "--port", str(port)],
                     tmp_path_factory.mktemp("whisper-engine") / "server.log", "Uvicorn running", port)


@pytest.fixture(scope="module")
def speech_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    root = tmp_path_factory.mktemp("speech-engine")
    yield from serve(["-c", LOUDNESS_TTS, str(starter.piper_voice()), str(port)], root / "server.log", "serving on",
                     port, env={"LOUDNESS_TTS_HOME": str(root / "cache"), "LOUDNESS_TTS_OFFLINE": "1"})


@pytest.fixture(scope="module")
def media_realm(whisper_engine: str, speech_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    cluster = Cluster(tmp_path_factory.mktemp("upstream-media"))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "whisper-box", backends="upstream",
                       env={"MTOR_UPSTREAM_URL": whisper_engine, "MTOR_UPSTREAM_KINDS": "transcribe"})
        cluster.worker(realm, "tts-box", backends="upstream",
                       env={"MTOR_UPSTREAM_URL": speech_engine, "MTOR_UPSTREAM_KINDS": "speak"})
        yield realm
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def spoken() -> bytes:
    """SENTENCE as a WAV, said by the starter piper voice in this process."""
    from piper import PiperVoice

    voice = PiperVoice.load(str(starter.piper_voice()))
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(SENTENCE))
    return media.encode_wav(pcm, voice.config.sample_rate)


def test_transcribe_goes_through_faster_whisper_server(media_realm, spoken):
    kinds = {k.kind: list(k.models) for k in media_realm.describe().kinds}
    assert kinds == {2: [], 3: ["gpt-4o-mini-tts", "loudness-tts", "tts-1", "tts-1-hd"]}  # no /models: any name
    events = []
    with Client(media_realm.address) as client:
        result = client.transcribe(spoken, format="wav", language="en", on_event=events.append, timeout=120)
        translated = client.transcribe(spoken, task="translate", model="tiny.en", timeout=120)
    assert result.worker == "whisper-box" and result.model == "whisper-1" and result.language == "en"
    assert len(words(result.text) & words(SENTENCE)) >= 6, result.text
    assert result.segments and result.segments[0].text and result.segments[-1].end_s <= result.duration_s + 0.5
    assert result.duration_s == pytest.approx(media.wav_duration(spoken), abs=0.1)
    assert isinstance(events[-1], Finished) and [e.fraction for e in events if isinstance(e, Delta)] == [1.0]
    assert translated.model == "tiny.en" and len(words(translated.text) & words(SENTENCE)) >= 6, translated.text


def test_speak_goes_through_loudness_tts_and_transcribes_back(media_realm):
    with Client(media_realm.address) as client:
        audio = client.speak(SENTENCE, timeout=120)
        fast = client.speak(SENTENCE, speed=2.0, timeout=120)
        heard = client.transcribe(audio.wav, language="en", timeout=120)
    with wave.open(io.BytesIO(audio.wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (audio.sample_rate, 1, 2)
        seconds = w.getnframes() / w.getframerate()
    assert audio.worker == "tts-box" and audio.model == "loudness-tts" and audio.sample_rate == 22050
    assert 1.0 < seconds < 8.0 and audio.duration_s == pytest.approx(seconds, abs=0.01)
    assert fast.duration_s < 0.8 * audio.duration_s  # the speed was passed on
    assert len(words(heard.text) & words(SENTENCE)) >= 6, heard.text


def test_bad_input_is_reported_clearly_and_the_workers_keep_serving(media_realm, spoken):
    with Client(media_realm.address) as client:
        with pytest.raises(InvalidArgument) as e:  # told here, before the upstream is asked
            client.transcribe(b"this is not audio at all" * 10, format="wav", timeout=60)
        assert "transcribe.audio is not wav audio" in e.value.message
        with pytest.raises(Internal) as e:  # a WAV header over garbage: the upstream fails on it
            client.transcribe(b"RIFF\x00\x00\x00\x00WAVE" + bytes(range(256)) * 8, timeout=60)
        assert "upstream http://127.0.0.1" in e.value.message and "answered 500" in e.value.message
        with pytest.raises(InvalidArgument) as e:  # the upstream's own message, passed on
            client.speak("Hello.", voice="no-such-voice", timeout=60)
        assert "answered 400: No voice called 'no-such-voice'" in e.value.message
        assert len(words(client.transcribe(spoken, timeout=120).text) & words(SENTENCE)) >= 6
        assert client.speak("Still here.", timeout=60).wav.startswith(b"RIFF")


@pytest.fixture(scope="module")
def embed_realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    """llama.cpp's server in embedding mode twice: with the GGUF's pooling overridden to mean, as one serves a
    chat model for embeddings, and as it is (SmolLM2's own pooling is none: a vector per token)."""
    root = tmp_path_factory.mktemp("embed-engine")
    engines, urls = [], []
    cluster = Cluster(root / "cluster")
    try:
        for alias, extra in (("smollm2-embed", ["--kv_overrides", "llama.pooling_type=int:1"]),
                             ("smollm2-tokens", [])):
            port = free_port()
            engines.append(serve(["-m", "llama_cpp.server", "--model", str(starter.chat_model()), "--model_alias",
                                  alias, "--embedding", "true", *extra, "--n_threads", "1", "--host", "127.0.0.1",
                                  "--port", str(port)], root / f"{alias}.log", "Uvicorn running", port))
            urls.append(next(engines[-1]))
        realm = cluster.realm()
        for name, url in zip(("embed-box", "token-box"), urls):
            cluster.worker(realm, name, backends="upstream", env={"MTOR_UPSTREAM_URL": url,
                                                                 "MTOR_UPSTREAM_KINDS": "embed"})
        yield realm
    finally:
        cluster.stop()
        for engine in engines:
            engine.close()


def test_embed_goes_through_the_upstream_engine(embed_realm):
    assert [(k.kind, sorted(k.models)) for k in embed_realm.describe().kinds] == [
        (7, ["smollm2-embed", "smollm2-tokens"])]
    texts = ["The cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply today."]
    with Client(embed_realm.address) as client:
        result = client.embed(texts, model="smollm2-embed", timeout=120)
        alone = client.embed(texts[1], model="smollm2-embed", timeout=120)
        with pytest.raises(Internal) as e:  # told what is wrong, not handed a vector per token
            client.embed(texts, model="smollm2-tokens", timeout=120)
        assert "a vector per token, not per text" in e.value.message
    assert (result.kind, result.model, result.worker) == ("embed", "smollm2-embed", "embed-box")
    assert result.dimensions == 576 and [len(v) for v in result.vectors] == [576] * 3
    assert result.prompt_tokens >= len(" ".join(texts).split())  # the engine's own count

    def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
        return sum(x * y for x, y in zip(a, b)) / (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5

    assert cosine(result.vectors[0], result.vectors[1]) > cosine(result.vectors[0], result.vectors[2])
    assert cosine(alone.vectors[0], result.vectors[1]) > 0.999  # in order: the second vector is the second text's
