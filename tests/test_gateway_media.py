"""The gateway's audio and image routes (/v1/audio/transcriptions, /v1/audio/translations, /v1/audio/speech,
/v1/images/generations) through the official `openai` SDK, against a real realm, echo worker and gateway; then
a spoken round trip with the starter models (piper speaks, Whisper tiny.en hears it back)."""
from __future__ import annotations

import base64
import io
import re
import urllib.error
import urllib.request
import wave
from typing import Iterator

import openai
import pytest
from conftest import Cluster, echo_stack
from harness import SYSOP_TOKEN, Gateway, openai_client
from mtor_client._proto.mtor.v1 import intent_pb2
from test_gateway_openai import assert_error_shape, http

from gateway_ws.openai_api.audio import subtitles
from mtor_server.errors import RealmError
from mtor_server.validate import validate_intent
from mtor_worker import media

SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with echo_stack(tmp_path_factory.mktemp("media")) as (_, gateway):
        yield gateway


client = openai_client


def a_wav(seconds: float = 1.0) -> bytes:
    return media.encode_wav(media.sine_pcm16(seconds, 16000), 16000)


def still_serving(gateway: Gateway) -> None:
    ai = client(gateway)
    wav = a_wav()
    assert ai.audio.transcriptions.create(model="", file=("a.wav", wav)).text == f"echo: {len(wav)} bytes of audio"
    assert ai.audio.speech.create(model="", voice="alloy", input="again").content.startswith(b"RIFF")


# ------------------------------------------------------------------------------------------ transcriptions --

def test_a_transcription_as_json_and_as_text(gateway):
    wav = a_wav()
    ai = client(gateway)
    raw = ai.audio.transcriptions.with_raw_response.create(model="", file=("speech.wav", wav))
    assert raw.parse().text == f"echo: {len(wav)} bytes of audio"
    assert raw.headers["x-mtor-intent-id"] and raw.headers["x-mtor-worker"] == "w1"
    text = ai.audio.transcriptions.create(model="", file=("speech.wav", wav), response_format="text")
    assert text.strip() == f"echo: {len(wav)} bytes of audio"


def test_a_verbose_transcription_has_its_segments_and_language(gateway):
    wav = a_wav(2.0)
    answer = client(gateway).audio.transcriptions.create(model="", file=("speech.wav", wav), language="de",
                                                         response_format="verbose_json",
                                                         timestamp_granularities=["segment"], temperature=0)
    assert answer.language == "de" and answer.duration == pytest.approx(2.0)
    assert answer.text == f"echo: {len(wav)} bytes of audio"
    assert [(s.id, s.start, s.end, s.text) for s in answer.segments] == [(0, 0.0, pytest.approx(2.0), answer.text)]


@pytest.mark.parametrize("fmt, first", [("srt", "1\n00:00:00,000 --> 00:00:01,500\n"),
                                        ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n")])
def test_subtitles_as_srt_and_vtt(gateway, fmt, first):
    wav = a_wav(1.5)
    answer = client(gateway).audio.transcriptions.create(model="", file=("speech.wav", wav), response_format=fmt)
    assert answer.startswith(first) and f"echo: {len(wav)} bytes of audio" in answer


def test_subtitle_timings_past_an_hour():
    transcript = intent_pb2.Transcript(text="a b", duration_s=3725.5, segments=[
        intent_pb2.TranscriptSegment(start_s=0.0, end_s=1.25, text="a"),
        intent_pb2.TranscriptSegment(start_s=3723.0, end_s=3725.5, text="b")])
    assert subtitles(transcript, "srt") == ("1\n00:00:00,000 --> 00:00:01,250\na\n\n"
                                            "2\n01:02:03,000 --> 01:02:05,500\nb\n")
    assert subtitles(transcript, "vtt").endswith("\n01:02:03.000 --> 01:02:05.500\nb\n")


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations so
def test_a_translation_asks_the_worker_for_english(gateway):
    wav = a_wav()
    ai = client(gateway)
    answer = ai.audio.translations.create(model="", file=("speech.wav", wav))
    assert answer.text == f"echo: {len(wav)} bytes of audio, in English"  # echo heard task TRANSLATE
    verbose = ai.audio.translations.create(model="", file=("speech.wav", wav), response_format="verbose_json")
    assert verbose.language == "en" and verbose.segments[0].text == answer.text


def test_a_prompt_and_a_temperature_reach_the_worker(gateway):
    wav = a_wav()
    answer = client(gateway).audio.transcriptions.create(model="", file=("a.wav", wav), prompt="Names: Ada.",
                                                         temperature=0.4)
    assert answer.text == f"echo: {len(wav)} bytes of audio (prompt: Names: Ada.)"


@pytest.mark.parametrize("param, value, code", [
    ("response_format", "diarized_json", "unsupported_parameter"), ("temperature", 1.5, "invalid_request"),
    ("timestamp_granularities", ["word"], "unsupported_parameter"), ("stream", True, "unsupported_parameter"),
])
def test_transcription_parameters_mtor_cannot_honour_are_refused_by_name(gateway, param, value, code):
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).audio.transcriptions.create(model="", file=("a.wav", a_wav()), **{param: value})
    name = "timestamp_granularities[]" if param == "timestamp_granularities" else param
    assert e.value.status_code == 400 and e.value.body["param"] == name
    assert e.value.body["code"] == code and name in e.value.body["message"]
    still_serving(gateway)


def test_bad_uploads_get_400_naming_what_is_wrong(gateway):
    status, _, raw = http(gateway, "POST", "/v1/audio/transcriptions", b'{"file": "x"}')
    assert status == 400 and assert_error_shape(raw)["param"] == "file"
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).audio.transcriptions.create(model="", file=("a.wav", b""))
    assert e.value.body["param"] == "file" and "empty" in e.value.body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).audio.transcriptions.create(model="", file=("a.wav", a_wav()), extra_body={"colour": "red"})
    assert e.value.body["param"] == "colour" and e.value.body["code"] == "unknown_parameter"
    boundary = "xyz"
    torn = f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n'.encode()  # never ends
    request = urllib.request.Request(
        gateway.url + "/v1/audio/transcriptions", data=torn, method="POST",
        headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("a torn multipart body was accepted")
    except urllib.error.HTTPError as refused:
        assert refused.code == 400 and assert_error_shape(refused.read())["param"] == "file"
    still_serving(gateway)


# ----------------------------------------------------------------------------------------------- speech --

def test_speech_is_a_wav_that_parses(gateway):
    raw = client(gateway).audio.speech.with_raw_response.create(model="", voice="alloy", input="one two three",
                                                                response_format="wav", speed=1.5)
    assert raw.headers["content-type"] == "audio/wav" and raw.headers["x-mtor-intent-id"]
    with wave.open(io.BytesIO(raw.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() / w.getframerate() == pytest.approx(0.3)  # echo: 0.1 s a word


def test_speech_without_a_format_is_wav_too(gateway):
    status, headers, raw = http(gateway, "POST", "/v1/audio/speech", b'{"input": "hello", "voice": "nova"}')
    assert status == 200 and headers["content-type"] == "audio/wav" and raw.startswith(b"RIFF")


@pytest.mark.parametrize("fmt, content_type, codec, rate", [
    ("mp3", "audio/mpeg", "mp3", 16000), ("opus", "audio/ogg", "opus", 48000), ("aac", "audio/aac", "aac", 16000),
    ("flac", "audio/flac", "flac", 16000),
])
def test_speech_in_other_formats_is_converted_by_pyav(gateway, fmt, content_type, codec, rate):
    import av

    raw = client(gateway).audio.speech.with_raw_response.create(model="", voice="alloy", input="one two three",
                                                                response_format=fmt)
    assert raw.headers["content-type"] == content_type
    with av.open(io.BytesIO(raw.content)) as box:
        stream = box.streams.audio[0]
        assert stream.codec_context.name.startswith(codec) and stream.rate == rate
        seconds = sum(frame.samples for frame in box.decode(stream)) / rate
    assert 0.3 <= seconds < 0.4  # echo: 0.1 s a word, and the encoder's padding


def test_speech_as_raw_pcm_is_24_khz_16_bit(gateway):
    pcm = client(gateway).audio.speech.create(model="", voice="alloy", input="one two", response_format="pcm")
    assert len(pcm.content) == pytest.approx(0.2 * 24000 * 2, abs=64)


@pytest.mark.parametrize("param, value, code", [
    ("response_format", "ogg", "unsupported_parameter"), ("response_format", "", "unsupported_parameter"),
    ("instructions", "Whisper it.", "unsupported_parameter"), ("speed", 9.0, "invalid_request"),
    ("input", "", "invalid_request"),
])
def test_speech_parameters_mtor_cannot_honour_are_refused_by_name(gateway, param, value, code):
    args = {"model": "", "voice": "alloy", "input": "hi", param: value}
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).audio.speech.create(**args)
    assert e.value.status_code == 400 and e.value.body["param"] == param and e.value.body["code"] == code
    still_serving(gateway)


def test_a_failed_speak_intent_is_its_status(gateway):
    with pytest.raises(openai.InternalServerError, match="asked to fail"):
        client(gateway).audio.speech.create(model="", voice="alloy", input="!fail now")
    still_serving(gateway)


# ----------------------------------------------------------------------------------------------- images --

def test_an_image_is_a_base64_png_of_the_size_asked(gateway):
    raw = client(gateway).images.with_raw_response.generate(model="", prompt="a red square", size="64x32",
                                                            response_format="b64_json", n=1, quality="standard")
    answer = raw.parse()
    png = base64.b64decode(answer.data[0].b64_json)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and media.png_size(png) == (64, 32)
    assert raw.headers["x-mtor-intent-id"] and int(raw.headers["x-mtor-seed"]) >= 0
    default = client(gateway).images.generate(model="", prompt="anything")
    assert media.png_size(base64.b64decode(default.data[0].b64_json)) == (512, 512)


@pytest.mark.parametrize("param, value, code", [
    ("response_format", "url", "unsupported_parameter"), ("n", 2, "unsupported_parameter"),
    ("quality", "hd", "unsupported_parameter"), ("style", "vivid", "unsupported_parameter"),
    ("size", "big", "invalid_request"), ("size", "5000x5000", "invalid_request"),
    ("prompt", "", "invalid_request"),
])
def test_image_parameters_mtor_cannot_honour_are_refused_by_name(gateway, param, value, code):
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).images.generate(**{"model": "", "prompt": "a cat", param: value})
    assert e.value.status_code == 400 and e.value.body["param"] == param and e.value.body["code"] == code
    assert param in e.value.body["message"] or param == "prompt"
    still_serving(gateway)


# ---------------------------------------------------------------------------------- the realm's own check --

@pytest.mark.parametrize("top_p, ok", [(1.0, True), (0.01, True), (0.0, False), (1.5, False), (float("nan"), False)])
def test_the_realm_checks_top_p(top_p, ok):
    intent = intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="x", top_p=top_p, seed=-(2**63)))
    if ok:
        assert validate_intent(intent, 1 << 20) == "chat"
    else:
        with pytest.raises(RealmError, match="chat.top_p"):
            validate_intent(intent, 1 << 20)


# ---------------------------------------------------------------------------------------- starter models --

def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_piper_speaks_through_the_gateway_and_whisper_hears_it_back(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        realm = cluster.realm()
        cluster.worker(realm, "cpu", backends="whisper,piper", concurrency=2)
        ai = openai.OpenAI(base_url=cluster.gateway(realm).url + "/v1", api_key=SYSOP_TOKEN, max_retries=0,
                           timeout=120)
        wav = ai.audio.speech.create(model="", voice="alloy", input=SENTENCE, response_format="wav").content
        with wave.open(io.BytesIO(wav)) as w:
            assert w.getframerate() == 22050 and 1.0 < w.getnframes() / w.getframerate() < 8.0
        heard = ai.audio.transcriptions.create(model="", file=("speech.wav", wav), language="en",
                                               prompt="A pangram.", response_format="verbose_json")
        assert len(words(heard.text) & words(SENTENCE)) >= 6, heard.text
        assert heard.language == "en" and heard.segments and heard.segments[-1].end <= heard.duration + 0.5
    finally:
        cluster.stop()
