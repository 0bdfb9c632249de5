"""speak through realm and a bark worker, on a tiny random-weight Bark that
the test builds itself; text over 20 words falls back to the starter piper
voice, as the original fell back to a system voice."""
from __future__ import annotations

import io
import wave
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm
from mtor_client import AudioResult, Client, Delta, Finished, InvalidArgument
from tiny.bark import SAMPLE_RATE, build_tiny_bark

from mtor_common.config import Config
from mtor_worker import starter
from mtor_worker.backends import resolve_backends

PIPER_RATE = 22050  # the starter voice's


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    root = tmp_path_factory.mktemp("bark")
    model = build_tiny_bark(root)
    cluster = Cluster(root)
    try:
        realm = cluster.realm()
        cluster.worker(realm, "voice", backends="bark", env={"MTOR_BARK_MODEL": str(model)})
        yield realm
    finally:
        cluster.stop()


def frames(audio: AudioResult) -> tuple[int, int]:
    """(frames, rate) of the WAV, checked to be 16-bit mono with a duration that matches the result's."""
    with wave.open(io.BytesIO(audio.wav)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        n, rate = w.getnframes(), w.getframerate()
    assert audio.sample_rate == rate and audio.duration_s == pytest.approx(n / rate, abs=1e-3)
    return n, rate


def test_bark_speaks_short_text_as_a_wav_at_its_codecs_rate_with_a_delta_per_stage(realm):
    events = []
    with Client(realm.address) as client:
        audio = client.speak("hello world, this is a test", on_event=events.append, timeout=120)
    n, rate = frames(audio)
    assert rate == SAMPLE_RATE and n > 0
    assert audio.model == "tiny-bark" and audio.worker == "voice"
    fractions = [e.fraction for e in events if isinstance(e, Delta)]
    assert fractions == pytest.approx([0.3, 0.9, 1.0]) and isinstance(events[-1], Finished)


def test_voices_by_the_originals_names_or_preset_and_unknown_ones_are_named(realm):
    with Client(realm.address) as client:
        for voice in ("en_male_1", "en_female_1", "v2/en_speaker_6"):
            audio = client.speak("say one two three", voice=voice, text_temperature=0.5,
                                 waveform_temperature=0.0, timeout=120)
            assert audio.model == "tiny-bark" and frames(audio)[0] > 0
        with pytest.raises(InvalidArgument) as e:
            client.speak("hello", voice="en_robot_7", timeout=60)
        assert "unknown voice 'en_robot_7'" in e.value.message and "en_male_1" in e.value.message
        with pytest.raises(InvalidArgument) as e:  # an alias of the original whose preset this model lacks
            client.speak("hello", voice="german_male", timeout=60)
        assert "v2/de_speaker_1" in e.value.message


def test_text_over_20_words_is_spoken_by_the_piper_voice(realm):
    voice = starter.piper_voice()
    assert voice is not None, "the starter piper voice is part of the test install"
    twenty = " ".join(["one two three four five"] * 4)
    with Client(realm.address) as client:
        at_limit = client.speak(twenty, timeout=120)
        over = client.speak(twenty + " six", voice="en_male_1", timeout=120)
    assert at_limit.model == "tiny-bark" and frames(at_limit)[1] == SAMPLE_RATE
    assert over.model == voice.stem and frames(over)[1] == PIPER_RATE == over.sample_rate
    assert over.duration_s > 3.0  # 21 words really spoken


def test_bad_input_is_invalid_argument_and_the_worker_keeps_serving(realm):
    with Client(realm.address) as client:
        with pytest.raises(InvalidArgument) as e:
            client.speak("   ", timeout=60)
        assert "speak.text is empty" in e.value.message  # the realm checks it first; the backend would too
        with pytest.raises(InvalidArgument) as e:
            client.speak("hello", text_temperature=-0.5, timeout=60)
        assert "speak.text_temperature must not be negative" in e.value.message
        assert frames(client.speak("still here", timeout=60))[1] == SAMPLE_RATE


def test_auto_runs_bark_only_with_a_model_configured_and_ahead_of_piper():
    cfg = Config()
    assert "bark" not in resolve_backends(["auto"], cfg)
    cfg.section("bark").model = "/models/bark-small"
    backends = resolve_backends(["auto"], cfg)
    assert "bark" in backends and ("piper" not in backends or backends.index("bark") < backends.index("piper"))
