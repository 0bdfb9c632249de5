"""POST /v1/audio/transcriptions and /v1/audio/translations (multipart uploads, onto a transcribe intent) and
POST /v1/audio/speech (JSON, onto a speak intent, answered with the WAV's bytes).

Parameters follow params.py's rule: honoured, dropped where they do not change the answer, accepted only at
their neutral value, or a 400 naming them.
"""
from __future__ import annotations

import asyncio
import importlib.util
import io
import wave
from pathlib import PurePath
from typing import Any, Callable, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from mtor_client._proto.mtor.v1 import intent_pb2
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from ..link import RealmLink
from . import bearer, read_body
from .answers import mtor_headers, result_for
from .errors import bad_request, unsupported
from .params import check, parse

MAX_FORM_FIELDS = 32
"""Fields of an upload besides its file: OpenAI's endpoints take fewer than ten."""
TEXT_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")
# The container, by the upload's file name; the worker sniffs the bytes where the name says nothing.
_CONTAINERS = {".wav": intent_pb2.AUDIO_FORMAT_WAV, ".webm": intent_pb2.AUDIO_FORMAT_WEBM,
               ".ogg": intent_pb2.AUDIO_FORMAT_OGG, ".oga": intent_pb2.AUDIO_FORMAT_OGG,
               ".opus": intent_pb2.AUDIO_FORMAT_OGG, ".mp3": intent_pb2.AUDIO_FORMAT_MP3,
               ".mpga": intent_pb2.AUDIO_FORMAT_MP3, ".flac": intent_pb2.AUDIO_FORMAT_FLAC}
# Upload parameters OpenAI defines that a transcribe intent cannot honour, with the test of their neutral value.
_TRANSCRIBE_NEUTRAL: dict[str, Callable[[Any], bool]] = {
    "timestamp_granularities[]": lambda v: v in (None, "segment", ["segment"]),  # no word timings
    "timestamp_granularities": lambda v: v in (None, "segment", ["segment"]),
    "stream": lambda v: v in (None, "false", "False"),
    "include[]": lambda v: not v,
    "chunking_strategy": lambda v: v in (None, "", "auto"),
}
# Speech formats other than WAV, made from the worker's WAV by PyAV (FFmpeg, as faster-whisper brings it) where
# the gateway's environment has it: OpenAI's name -> (container, codec, sample rate (None: the WAV's), MIME type).
CONVERTED = {"mp3": ("mp3", "libmp3lame", None, "audio/mpeg"), "opus": ("ogg", "libopus", 48000, "audio/ogg"),
             "aac": ("adts", "aac", None, "audio/aac"), "flac": ("flac", "flac", None, "audio/flac"),
             "pcm": ("s16le", "pcm_s16le", 24000, "audio/pcm")}  # pcm: raw 16-bit 24 kHz mono, as OpenAI's
# OpenAI's own voice names, which no MTOR worker knows: they ask for the worker's default voice.
OPENAI_VOICES = {"alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage",
                 "shimmer", "verse"}
_SPEECH_NEUTRAL: dict[str, Callable[[Any], bool]] = {
    "instructions": lambda v: not v,  # no backend takes speaking instructions
    "stream_format": lambda v: v in (None, "audio"),  # one whole file, not server-sent events
}


class TranscriptionForm(BaseModel):
    """The upload's fields (the file aside); others land in `model_extra`, judged by _TRANSCRIBE_NEUTRAL."""
    model_config = ConfigDict(extra="allow")
    model: str = ""
    language: str = ""
    prompt: str = ""
    response_format: str = "json"
    temperature: float | None = Field(None, ge=0.0, le=1.0)


class SpeechBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = ""
    input: str = Field(min_length=1, max_length=4096)
    voice: str = ""
    response_format: str = "wav"
    """OpenAI's default is mp3; MTOR's workers make WAV, so an unnamed format is WAV (nothing to convert)."""
    speed: float | None = Field(None, ge=0.25, le=4.0)


def add_routes(api: APIRouter, link: Callable[[], RealmLink]) -> None:
    @api.post("/audio/transcriptions")
    async def transcriptions(request: Request) -> Response:
        return await _transcribe(request, link(), translate=False)

    @api.post("/audio/translations")
    async def translations(request: Request) -> Response:
        return await _transcribe(request, link(), translate=True)

    @api.post("/audio/speech")
    async def speech(request: Request) -> Response:
        body = parse(await read_body(request), SpeechBody, _SPEECH_NEUTRAL, {"user"})
        if body.response_format != "wav" and (body.response_format not in CONVERTED or not can_convert()):
            others = f", {', '.join(CONVERTED)}" if can_convert() else " (others need PyAV, `pip install av`)"
            raise unsupported("response_format", f"{body.response_format!r}: use wav{others}")
        speak = intent_pb2.SpeakRequest(text=body.input, voice="" if body.voice in OPENAI_VOICES else body.voice)
        if body.speed is not None:
            speak.speed = body.speed
        submission, result = await result_for(request, link(), bearer(request),
                                              intent_pb2.IntentRequest(model=body.model, speak=speak))
        if body.response_format == "wav":
            return Response(result.audio.wav, media_type="audio/wav", headers=mtor_headers(submission, result))
        audio = await asyncio.to_thread(convert, result.audio.wav, body.response_format)  # CPU work: off the loop
        return Response(audio, media_type=CONVERTED[body.response_format][3],
                        headers=mtor_headers(submission, result))


def can_convert() -> bool:
    """Whether PyAV is installed here (the gateway's own extra does not bring it; the transcribe extra does)."""
    return importlib.util.find_spec("av") is not None


def convert(wav: bytes, fmt: str) -> bytes:
    """The worker's 16-bit mono WAV, encoded as `fmt` (a CONVERTED name) by PyAV, resampled where it must be."""
    import av

    container, codec, rate, _ = CONVERTED[fmt]
    with wave.open(io.BytesIO(wav)) as w:
        source_rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate = source_rate
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream = box.add_stream(codec, rate=rate or source_rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0].name, layout="mono",
                                      rate=rate or source_rate)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
    return out.getvalue()


async def _form(request: Request) -> tuple[dict[str, Any], bytes, str]:
    """The multipart body, read only up to the gateway's body limit, as its fields, its one file's bytes and
    that file's name."""
    raw = await read_body(request)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise bad_request("the request body must be multipart/form-data, with the audio as `file`", "file")

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    scope = {k: v for k, v in request.scope.items() if k != "app"}  # so Starlette raises, not answers, a bad form
    try:
        form = await Request(scope, replay).form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except MultiPartException as e:
        raise bad_request(f"the multipart body does not parse: {e.message}", "file") from None
    try:
        fields, upload = _fields(form)
        return fields, await upload.read(), upload.filename or ""
    finally:
        await form.close()


def _fields(form: FormData) -> tuple[dict[str, Any], UploadFile]:
    fields: dict[str, Any] = {}
    upload: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "file":
                raise bad_request(f"unexpected file {key!r}: send the audio as `file`", key)
            upload = value
        elif key in fields or key.endswith("[]"):  # a repeated field: a list, as OpenAI's arrays are sent
            previous = fields.get(key)
            fields[key] = (previous if isinstance(previous, list) else [previous] if previous else []) + [value]
        else:
            fields[key] = value
    if upload is None:
        raise bad_request("no audio: send it as the multipart file field `file`", "file")
    return fields, upload


async def _transcribe(request: Request, link: RealmLink, translate: bool) -> Response:
    fields, audio, filename = await _form(request)
    form = check(fields, TranscriptionForm, _TRANSCRIBE_NEUTRAL, {"user"})
    if form.response_format not in TEXT_FORMATS:
        raise unsupported("response_format", f"{form.response_format!r}: use one of {', '.join(TEXT_FORMATS)}")
    if not audio:
        raise bad_request("the uploaded file is empty", "file")
    transcribe = intent_pb2.TranscribeRequest(
        audio=audio, format=_CONTAINERS.get(PurePath(filename).suffix.lower(), 0),
        language=form.language, prompt=form.prompt,
        task=intent_pb2.TRANSCRIBE_TASK_TRANSLATE if translate else intent_pb2.TRANSCRIBE_TASK_TRANSCRIBE)
    if form.temperature is not None:
        transcribe.temperature = form.temperature
    submission, result = await result_for(request, link, bearer(request),
                                          intent_pb2.IntentRequest(model=form.model, transcribe=transcribe))
    headers = mtor_headers(submission, result)
    transcript = result.transcript
    if form.response_format == "text":
        return PlainTextResponse(transcript.text + "\n", headers=headers)
    if form.response_format in ("srt", "vtt"):
        return PlainTextResponse(subtitles(transcript, form.response_format), headers=headers)
    if form.response_format == "json":
        return JSONResponse({"text": transcript.text}, headers=headers)
    return JSONResponse(verbose(transcript, "translate" if translate else "transcribe"), headers=headers)


def verbose(transcript: intent_pb2.Transcript, task: Literal["transcribe", "translate"]) -> dict[str, Any]:
    """OpenAI's verbose_json, with what mtor.v1 carries: no token ids, log-probabilities or word timings.
    `language` is the ISO 639-1 code the worker heard ("en"; OpenAI writes the name, "english")."""
    return {"task": task, "language": transcript.language, "duration": transcript.duration_s,
            "text": transcript.text,
            "segments": [{"id": i, "seek": 0, "start": s.start_s, "end": s.end_s, "text": s.text}
                         for i, s in enumerate(transcript.segments)]}


def subtitles(transcript: intent_pb2.Transcript, kind: Literal["srt", "vtt"]) -> str:
    """The segments as SubRip (srt) or WebVTT (vtt) cues; one cue for the whole text where there are none."""
    segments = [(s.start_s, s.end_s, s.text) for s in transcript.segments] or \
        [(0.0, transcript.duration_s, transcript.text)]
    separator = "," if kind == "srt" else "."
    cues = []
    for i, (start, end, text) in enumerate(segments, 1):
        timing = f"{_clock(start, separator)} --> {_clock(end, separator)}"
        cues.append(f"{i}\n{timing}\n{text}\n" if kind == "srt" else f"{timing}\n{text}\n")
    return ("WEBVTT\n\n" if kind == "vtt" else "") + "\n".join(cues)


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
