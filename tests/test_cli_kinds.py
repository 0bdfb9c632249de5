"""A command for every kind (transcribe, speak, imagine, vision, converse, embed) as a person and a script run
them: real `mtor` processes against a realm with an echo worker; files written, --json, and the one-line
messages and exit statuses for bad input (2) and a failed intent (1)."""
from __future__ import annotations

import io
import json
import os
import struct
import wave
from pathlib import Path
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm
from test_cli import mtor

from mtor_worker.backends.echo import embed_vector
from mtor_worker.media import encode_png_solid, encode_wav, sine_pcm16


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    cluster = Cluster(tmp_path_factory.mktemp("cli-kinds"))
    try:
        realm = cluster.realm({"MTOR_REALM_NAME": "lab"})
        cluster.worker(realm, "w1", concurrency=4, delay=0.01)
        yield realm
    finally:
        cluster.stop()


@pytest.fixture
def question(tmp_path: Path) -> Path:
    """Half a second of a tone as a 16 kHz WAV: the echo worker transcribes any audio."""
    path = tmp_path / "question.wav"
    path.write_bytes(encode_wav(sine_pcm16(0.5, 16000), 16000))
    return path


def run(realm: Realm, *args: str) -> tuple[int, str, str]:
    result = mtor(*args, "--realm", realm.address, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def wav_info(path: Path) -> tuple[int, float]:
    """(sample rate, seconds) of a WAV file; fails unless it parses."""
    with wave.open(io.BytesIO(path.read_bytes()), "rb") as w:
        return w.getframerate(), w.getnframes() / w.getframerate()


def png_size(path: Path) -> tuple[int, int]:
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_transcribe_prints_the_text_and_translates(realm, question):
    size = question.stat().st_size
    rc, out, err = run(realm, "transcribe", str(question))
    assert rc == 0, err
    assert out.strip() == f"echo: {size} bytes of audio" and "w1@lab" in err
    rc, out, _ = run(realm, "transcribe", str(question), "--translate", "--language", "de", "--json")
    answer = json.loads(out)
    assert rc == 0 and answer["text"] == f"echo: {size} bytes of audio, in English" and answer["language"] == "en"
    assert answer["worker"] == "w1" and answer["duration_s"] == pytest.approx(0.5)


def test_speak_writes_a_wav(realm, tmp_path):
    out_path = tmp_path / "out.wav"
    rc, out, err = run(realm, "speak", "three short words", "-o", str(out_path), "--voice", "any")
    assert rc == 0, err
    assert out == "" and f"wrote {out_path}" in err
    assert wav_info(out_path) == (16000, pytest.approx(0.3))
    rc, out, _ = run(realm, "speak", "two words", "-o", str(out_path), "--json")
    answer = json.loads(out)
    assert rc == 0 and answer["output"] == str(out_path) and answer["sample_rate"] == 16000
    assert "wav" not in answer and answer["bytes"] == out_path.stat().st_size
    assert wav_info(out_path)[1] == pytest.approx(0.2)


def test_imagine_writes_a_png_of_the_size_with_a_progress_bar(realm, tmp_path):
    out_path = tmp_path / "out.png"
    rc, out, err = run(realm, "imagine", "a", "red", "cube", "-o", str(out_path), "--size", "64x48", "--steps",
                       "4", "--seed", "7")
    assert rc == 0, err
    assert png_size(out_path) == (64, 48)
    bars = [line for line in err.splitlines() if line.startswith("[#")]
    assert [bar.split()[-1] for bar in bars] == ["25%", "50%", "75%", "100%"], err
    assert "seed 7" in err and out == ""
    rc, out, _ = run(realm, "imagine", "again", "-o", str(out_path), "--size", "32x32", "--seed", "7", "--json")
    answer = json.loads(out)
    assert rc == 0 and (answer["width"], answer["height"], answer["seed"]) == (32, 32, 7) and "png" not in answer
    assert png_size(out_path) == (32, 32)


def test_vision_streams_the_answer_and_refuses_what_is_not_a_picture(realm, tmp_path):
    picture = tmp_path / "red.png"
    picture.write_bytes(encode_png_solid(4, 4, (255, 0, 0)))
    size = picture.stat().st_size
    rc, out, err = run(realm, "vision", str(picture), "what", "colour?")
    assert rc == 0, err
    assert out.strip() == f"echo: what colour? ({size} bytes of image)"
    rc, out, _ = run(realm, "vision", str(picture), "--json")
    assert rc == 0 and json.loads(out)["text"] == f"echo: Describe this image in detail ({size} bytes of image)"

    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    rc, out, err = run(realm, "vision", str(text), "what is it")
    assert (rc, out) == (2, "")
    assert one_line(err) == f"mtor: the image {text} is not a PNG, JPEG or WebP picture"


def test_converse_prints_transcript_and_answer_and_writes_the_spoken_answer(realm, question, tmp_path):
    size = question.stat().st_size
    out_path = tmp_path / "answer.wav"
    rc, out, err = run(realm, "converse", str(question), "-o", str(out_path))
    assert rc == 0, err
    heard = f"echo: {size} bytes of audio"
    assert out.splitlines() == [f"you: {heard}", f"answer: echo: {heard}"]
    rate, seconds = wav_info(out_path)
    assert rate == 16000 and seconds == pytest.approx(0.1 * len(f"echo: {heard}".split()))
    rc, out, _ = run(realm, "converse", str(question), "-o", str(out_path), "--json")
    answer = json.loads(out)
    assert rc == 0 and answer["transcript"]["text"] == heard and answer["answer"]["text"] == f"echo: {heard}"
    assert answer["output"] == str(out_path) and "wav" not in answer["audio"]


def test_embed_prints_a_vector_per_text(realm):
    rc, out, err = run(realm, "embed", "first text", "second")
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    for line, text in zip(lines, ("first text", "second")):
        assert [float(v) for v in line.split()] == pytest.approx(embed_vector(text), abs=1e-5)
    rc, out, _ = run(realm, "embed", "first text", "--json")
    answer = json.loads(out)
    assert rc == 0 and answer["dimensions"] == 16 and answer["vectors"] == [pytest.approx(embed_vector("first text"))]


def test_bad_input_is_one_line_and_exit_2_before_anything_is_sent(realm, question, tmp_path):
    missing = tmp_path / "nothere.wav"
    for args in (["transcribe", str(missing)], ["converse", str(missing), "-o", str(tmp_path / "a.wav")],
                 ["vision", str(missing)]):
        rc, out, err = run(realm, *args)
        assert (rc, out) == (2, ""), args
        assert one_line(err).startswith("mtor: cannot read the ") and "No such file or directory" in err
    empty = tmp_path / "empty.wav"
    empty.touch()
    rc, _, err = run(realm, "transcribe", str(empty))
    assert rc == 2 and one_line(err) == f"mtor: the audio file {empty} is empty"

    nowhere = tmp_path / "no-folder" / "out.wav"
    for args in (["speak", "hello", "-o", str(nowhere)], ["imagine", "cube", "-o", str(tmp_path)],
                 ["converse", str(question), "-o", str(nowhere)]):
        rc, out, err = run(realm, *args)
        assert (rc, out) == (2, ""), args
        assert one_line(err).startswith("mtor: cannot write "), err
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        rc, _, err = run(realm, "speak", "hello", "-o", str(locked / "out.wav"))
        assert rc == 2 and one_line(err) == f"mtor: cannot write {locked / 'out.wav'}: permission denied"
    rc, _, err = run(realm, "imagine", "cube", "-o", str(tmp_path / "x.png"), "--size", "big")
    assert rc == 2 and "WIDTHxHEIGHT" in err  # argparse's own usage error
    assert not (tmp_path / "x.png").exists()


def test_a_failed_intent_is_one_line_and_exit_1(realm, tmp_path):
    for args in (["speak", "!fail now", "-o", str(tmp_path / "a.wav")], ["embed", "!fail"],
                 ["imagine", "!fail", "-o", str(tmp_path / "a.png")]):
        rc, out, err = run(realm, *args)
        assert (rc, out) == (1, ""), args
        assert one_line(err) == "mtor: INTERNAL: worker w1: echo: asked to fail", err
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "a.png").exists()
    result = mtor("embed", "hi", "--realm", "127.0.0.1:1", "--timeout", "3")
    assert result.returncode == 1 and result.stderr.startswith("mtor: ") and "UNAVAILABLE" in result.stderr


def test_chat_with_json_prints_the_result_once(realm):
    rc, out, err = run(realm, "chat", "hello", "there", "--json")
    answer = json.loads(out)
    assert rc == 0 and err == "" and answer["text"] == "echo: hello there" and answer["finish_reason"] == "stop"
