"""Real small models through a real realm and worker: SmolLM2 (llama.cpp) for
chat, Whisper tiny.en (faster-whisper) for transcribe, the joe voice (piper)
for speak, all from the starter packages, on the CPU, offline."""
from __future__ import annotations

import io
import re
import wave
from pathlib import Path
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm
from mtor_client import Client, Delta, Finished, InvalidArgument

SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Realm]]:
    cluster = Cluster(tmp_path_factory.mktemp("models"))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "cpu", backends="llama,whisper,piper", concurrency=2)
        yield cluster, realm
    finally:
        cluster.stop()


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_chat_answers_and_streams_before_the_end(models):
    _, realm = models
    events = []
    with Client(realm.address) as client:
        result = client.chat("What is the capital of France?", temperature=0.0, max_tokens=48,
                             on_event=events.append, timeout=120)
    assert "paris" in result.text.lower(), result.text
    assert result.model == "SmolLM2-135M-Instruct.Q4_1" and result.kind == "chat"
    deltas = [i for i, e in enumerate(events) if isinstance(e, Delta)]
    assert len(deltas) > 1 and max(deltas) < len(events) - 1 and isinstance(events[-1], Finished)
    assert "".join(events[i].text for i in deltas) == result.text


def test_speak_makes_a_wav_that_transcribes_back_to_its_words(models):
    _, realm = models
    with Client(realm.address) as client:
        audio = client.speak(SENTENCE, timeout=120)
        with wave.open(io.BytesIO(audio.wav)) as w:
            assert w.getframerate() == audio.sample_rate == 22050 and w.getnchannels() == 1
            seconds = w.getnframes() / w.getframerate()
        assert 1.0 < seconds < 8.0 and audio.duration_s == pytest.approx(seconds, abs=0.01)
        transcript = client.transcribe(audio.wav, format="wav", language="en", timeout=120)
    assert transcript.model == "tiny.en" and transcript.language == "en"
    heard = words(transcript.text)
    assert len(heard & words(SENTENCE)) >= 6, transcript.text
    assert transcript.segments and transcript.segments[-1].end_s <= transcript.duration_s + 0.5


@pytest.mark.parametrize("container,codec", [("ogg", "libopus"), ("webm", "libopus")])
def test_transcribe_decodes_the_browsers_formats(models, container, codec):
    import av  # faster-whisper's decoder
    import numpy as np

    _, realm = models
    with Client(realm.address) as client:
        speech = client.speak(SENTENCE, timeout=120)
        with wave.open(io.BytesIO(speech.wav)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        out = io.BytesIO()
        with av.open(out, "w", format=container) as box:
            stream = box.add_stream(codec, rate=48000)
            stream.layout = "mono"
            resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = speech.sample_rate
            for resampled in resampler.resample(frame) + resampler.resample(None):
                for packet in stream.encode(resampled):
                    box.mux(packet)
            for packet in stream.encode(None):
                box.mux(packet)
        transcript = client.transcribe(out.getvalue(), format=container, timeout=120)
    assert len(words(transcript.text) & words(SENTENCE)) >= 6, transcript.text


def test_bad_input_is_invalid_argument_and_the_worker_keeps_serving(models):
    _, realm = models
    with Client(realm.address) as client:
        with pytest.raises(InvalidArgument) as e:
            client.transcribe(b"this is not audio at all" * 10, format="wav", timeout=60)
        assert "could not decode the audio" in e.value.message
        assert client.speak("Still here.", timeout=60).wav.startswith(b"RIFF")


def test_a_model_that_does_not_exist_is_reported_and_the_rest_is_served(tmp_path: Path):
    cluster = Cluster(tmp_path)
    try:
        realm = cluster.realm()
        worker = cluster.worker(realm, "partial", backends="llama,piper",
                                env={"MTOR_LLAMA_MODEL": str(tmp_path / "missing.gguf")})
        kinds = {k.kind for k in realm.describe().kinds}
        assert kinds == {3}  # speak only: chat could not load
        assert "missing.gguf does not exist" in worker.output()
        with Client(realm.address) as client:
            assert client.speak("Partly working.", timeout=60).sample_rate == 22050
    finally:
        cluster.stop()


def test_up_serves_chat_transcribe_and_speak_with_the_starter_models(tmp_path: Path):
    from harness import spawn, wait_until

    proc = spawn(["up", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")], tmp_path / "up.log")
    try:
        address = str(wait_until(lambda: (m := re.search(r"listening on (\S+)", proc.output())) and m.group(1),
                                 30, what="the realm"))
        realm = Realm(proc, address, tmp_path / "data")
        wait_until(lambda: {k.kind for k in realm.describe().kinds} == {1, 2, 3, 7}, 120, interval=0.5,
                   what="chat, transcribe, speak and embed to be served")
        with Client(address) as client:
            assert client.chat("Say hello.", max_tokens=8, timeout=120).text.strip()
    finally:
        proc.terminate()


def test_converse_hears_a_question_and_answers_aloud(models):
    _, realm = models
    with Client(realm.address) as client:
        question = client.speak("What is the capital of France?", timeout=120)
        result = client.converse(question.wav, format="wav", language="en", temperature=0.0, max_tokens=32,
                                 timeout=180)
    assert {"capital", "france"} <= words(result.transcript.text), result.transcript.text
    assert "paris" in result.answer.text.lower(), result.answer.text
    assert result.audio.sample_rate == 22050 and result.audio.duration_s > 0.5
    assert result.model == "tiny.en + SmolLM2-135M-Instruct.Q4_1 + en_US-joe-medium"


def test_models_can_load_on_first_use_instead_of_at_start(tmp_path: Path):
    cluster = Cluster(tmp_path)
    try:
        realm = cluster.realm()
        worker = cluster.worker(realm, "lazy", backends="piper", env={"MTOR_WORKER_LOAD_MODELS": "first_use"})
        assert "piper: loaded" not in worker.output()  # joined and serving, model not yet loaded
        with Client(realm.address) as client:
            assert client.speak("Now load.", timeout=120).sample_rate == 22050
            assert client.speak("Loaded once.", timeout=120).sample_rate == 22050
        assert worker.output().count("piper: loaded") == 1  # and kept warm
    finally:
        cluster.stop()


def test_the_openai_sdk_gets_a_real_answer_through_the_gateway(models):
    import asyncio

    import openai

    cluster, realm = models
    gateway = cluster.gateway(realm)
    token = realm.new_user("marie")
    question = [{"role": "user", "content": "What is the capital of France?"}]
    ai = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=token, timeout=120)
    answer = ai.chat.completions.create(model="", messages=question, temperature=0.0, max_tokens=48)
    assert "paris" in answer.choices[0].message.content.lower(), answer
    assert answer.model == "SmolLM2-135M-Instruct.Q4_1" and answer.usage.completion_tokens > 0
    assert answer.choices[0].finish_reason in ("stop", "length")

    async def streamed() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=token, timeout=120) as client:
            stream = await client.chat.completions.create(model="", messages=question, temperature=0.0,
                                                          max_tokens=48, stream=True)
            return [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]

    pieces = asyncio.run(streamed())
    assert len([p for p in pieces if p]) > 1 and "".join(pieces) == answer.choices[0].message.content
