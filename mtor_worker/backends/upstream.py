"""chat, transcribe, speak, imagine and embed through any OpenAI-compatible HTTP
server (vLLM, Ollama, LocalAI, the llama.cpp server, faster-whisper-server...),
so that existing engines and clusters join a realm as workers.

`[upstream] kinds` says which kinds it serves, each through OpenAI's endpoint
for it: chat -> /chat/completions, its tokens streamed back over server-sent
events as text deltas; transcribe -> /audio/transcriptions (or
/audio/translations), as verbose_json for the timed segments; speak ->
/audio/speech as a WAV; imagine -> /images/generations as a base64 PNG;
embed -> /embeddings as floats (a vector per text: a server that sends one per
token, a model without pooling, is reported as such). Fields OpenAI's API has
no name for (beam size, VAD, negative prompt, steps, guidance,
an image's seed) are not sent. HTTP is the standard library's, run in the backend's
threads.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import struct
import urllib.error
import urllib.request
import uuid
import wave
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker import media
from mtor_worker.backends.base import BackendError, BlockingBackend, Capability, Job, embeddings, finish_reason

log = logging.getLogger("mtor.worker")

# The model name sent when neither the caller nor the config names one and the
# server lists none: OpenAI's own, which self-hosted servers accept or ignore.
DEFAULT_MODEL = {"chat": "", "transcribe": "whisper-1", "speak": "tts-1", "imagine": "dall-e-2",
                 "embed": "text-embedding-3-small"}
# First bytes of each container: OpenAI-compatible servers pick a decoder by the file name's extension.
CONTAINERS = {b"RIFF": "wav", b"\x1aE\xdf\xa3": "webm", b"OggS": "ogg", b"fLaC": "flac", b"ID3": "mp3"}
BUSY = (502, 503, 504)  # the upstream (or a proxy before it) cannot answer now: another worker may


class UpstreamError(BackendError):
    """The upstream answered with an HTTP error; `status` is its HTTP status."""

    def __init__(self, code: grpc.StatusCode, message: str, status: int) -> None:
        super().__init__(code, message)
        self.status = status


@dataclass
class UpstreamSection:
    """[upstream]: the settings of the backend that forwards to an OpenAI-compatible server."""
    url: str = setting("", "chat, transcribe, speak, imagine, embed (upstream): base URL of an OpenAI-compatible "
                       "server, e.g. http://127.0.0.1:8000/v1; empty: no upstream backend.")
    kinds: list[str] = setting(["chat"], "Kinds it serves, each through OpenAI's endpoint for it: chat "
                               "(/chat/completions), transcribe (/audio/transcriptions), speak (/audio/speech), "
                               "imagine (/images/generations), embed (/embeddings).")
    api_key: str = setting("", "Bearer key for it, if it needs one.")
    models: list[str] = setting([], "Models to offer callers, for each of its kinds; empty: every model its /models "
                                "lists, or any model name where it has no /models.")
    timeout_s: float = setting(300.0, "Longest wait for its answer, in seconds.")


class UpstreamBackend(BlockingBackend):
    section = UpstreamSection
    name = "upstream"

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self.url = getattr(options, "url", "").rstrip("/")
        self.kinds = [k.strip().lower() for k in getattr(options, "kinds", ["chat"])]
        self.models: list[str] = list(getattr(options, "models", []))
        self._problem = ""
        self._serve: dict[str, Callable[[Job], intent_pb2.IntentResult]] = {
            "chat": self._chat, "transcribe": self._transcribe, "speak": self._speak, "imagine": self._imagine,
            "embed": self._embed}

    def capabilities(self) -> list[Capability]:
        return [Capability(kind=kind, models=self.models) for kind in self.kinds]

    def healthy(self) -> tuple[bool, str]:
        return (not self._problem, self._problem)

    def load_blocking(self) -> None:
        if not self.url:
            raise ValueError("no upstream configured: set [upstream] url (e.g. http://127.0.0.1:8000/v1)")
        unknown = [k for k in self.kinds if k not in self._serve]
        if unknown or not self.kinds:
            raise ValueError(f"[upstream] kinds {self.kinds}: choose among {', '.join(self._serve)}")
        self.models = self.models or self._listed_models()
        log.info("upstream %s serves %s with %s", self.url, ", ".join(self.kinds),
                 ", ".join(self.models) or "any model name")

    def _listed_models(self) -> list[str]:
        """The server's /models, which also proves it answers; none where it has no such endpoint."""
        try:
            return [m["id"] for m in self._request("GET", "/models").json()["data"]]
        except UpstreamError as e:
            if e.status in (404, 405):  # it answers, but lists nothing (faster-whisper-server): any name goes
                return []
            raise

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        return self._serve[job.kind](job)

    def _model(self, job: Job) -> str:
        return job.model or (self.models[0] if self.models else DEFAULT_MODEL[job.kind])

    def _chat(self, job: Job) -> intent_pb2.IntentResult:
        chat = job.request.chat
        messages = [{"role": m.role, "content": m.content} for m in chat.messages] or \
            [{"role": "user", "content": chat.prompt}]
        model = self._model(job)
        # include_usage: the prompt's token count, in a last chunk, where the server counts it
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True,
                                "stream_options": {"include_usage": True}}
        if chat.max_tokens:
            body["max_tokens"] = chat.max_tokens
        if chat.HasField("temperature"):
            body["temperature"] = chat.temperature
        if chat.stop:
            body["stop"] = list(chat.stop)
        if chat.HasField("top_p"):
            body["top_p"] = chat.top_p
        if chat.HasField("seed"):
            body["seed"] = chat.seed
        pieces: list[str] = []
        reason: str | None = None
        prompt_tokens = 0
        with self._request("POST", "/chat/completions", body) as response:
            for event in response.events():
                if job.cancelled.is_set():
                    job.raise_if_cancelled()  # leaving the with-block closes the connection: the server stops
                choices = event.get("choices") or [{}]
                text = (choices[0].get("delta") or {}).get("content") or ""
                reason = choices[0].get("finish_reason") or reason
                prompt_tokens = int((event.get("usage") or {}).get("prompt_tokens") or prompt_tokens)
                if text:
                    pieces.append(text)
                    job.emit_text(text)
        return intent_pb2.IntentResult(text=intent_pb2.TextOutput(text="".join(pieces), tokens=len(pieces),
                                                                  finish_reason=finish_reason(reason),
                                                                  prompt_tokens=prompt_tokens),
                                       model=model)

    def _transcribe(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.transcribe
        model = self._model(job)
        translate = request.task == intent_pb2.TRANSCRIBE_TASK_TRANSLATE
        fields = {"model": model, "response_format": "verbose_json"}  # verbose: with timed segments
        if request.language and not translate:
            fields["language"] = request.language
        if request.prompt:
            fields["prompt"] = request.prompt
        if request.temperature:
            fields["temperature"] = f"{request.temperature:g}"
        path = "/audio/translations" if translate else "/audio/transcriptions"
        answer = self._request("POST", path, form=(fields, f"audio.{_container(request)}", request.audio)).json()
        out = intent_pb2.Transcript(text=str(answer.get("text", "")).strip(),
                                    language=request.language or str(answer.get("language") or ""))
        for segment in answer.get("segments") or []:
            out.segments.add(start_s=float(segment["start"]), end_s=float(segment["end"]),
                             text=str(segment["text"]).strip())
        out.duration_s = float(answer.get("duration") or (out.segments[-1].end_s if out.segments else 0.0))
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(transcript=out, model=model)

    def _speak(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.speak
        if not request.text.strip():
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: speak.text is empty")
        model = self._model(job)
        body: dict[str, Any] = {"model": model, "input": request.text, "response_format": "wav"}
        if request.voice:  # none: the server's default voice
            body["voice"] = request.voice
        if request.HasField("speed"):
            body["speed"] = request.speed
        data, content_type = self._request("POST", "/audio/speech", body).read()
        audio = _audio(data, content_type)
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(audio=audio, model=model)

    def _imagine(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.imagine
        if not request.prompt.strip():
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: imagine.prompt is empty")
        model = self._model(job)
        body = {"model": model, "prompt": request.prompt, "n": 1, "response_format": "b64_json",
                "size": f"{request.width or 512}x{request.height or 512}"}
        answer = self._request("POST", "/images/generations", body).json()
        png = _png((answer.get("data") or [{}])[0].get("b64_json"))
        width, height = media.png_size(png) or (0, 0)
        job.emit_progress(1.0)
        # no seed: OpenAI's API takes none, so the picture cannot be repeated by one
        return intent_pb2.IntentResult(image=intent_pb2.Image(png=png, width=width, height=height), model=model)

    def _embed(self, job: Job) -> intent_pb2.IntentResult:
        texts = list(job.request.embed.texts)
        if not texts:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: embed.texts is empty")
        model = self._model(job)
        answer = self._request("POST", "/embeddings", {"model": model, "input": texts,
                                                        "encoding_format": "float"}).json()
        try:
            data = sorted(answer["data"], key=lambda d: int(d.get("index", 0)))
            if any(isinstance(d["embedding"][0], list) for d in data if d["embedding"]):
                raise BackendError(grpc.StatusCode.INTERNAL, "upstream sent a vector per token, not per text: "
                                   "its model has no pooling (llama.cpp's llama-server takes --pooling mean)")
            vectors = [[float(v) for v in d["embedding"]] for d in data]
        except (KeyError, TypeError, ValueError) as e:
            raise BackendError(grpc.StatusCode.INTERNAL, f"upstream sent no float vectors in data[].embedding: "
                               f"{type(e).__name__}: {e}") from None
        if len(vectors) != len(texts):
            raise BackendError(grpc.StatusCode.INTERNAL, f"upstream sent {len(vectors)} vectors for {len(texts)} texts")
        tokens = int((answer.get("usage") or {}).get("prompt_tokens") or 0)
        return intent_pb2.IntentResult(embeddings=embeddings(vectors, tokens, f"upstream {self.url}"), model=model)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                 form: tuple[dict[str, str], str, bytes] | None = None) -> "_Response":
        """One HTTP call: JSON `body`, or a multipart `form` of (fields, file name, file bytes)."""
        headers = {"Accept": "application/json, text/event-stream, audio/wav"}
        data = None
        if form is not None:
            data, headers["Content-Type"] = _multipart(*form)
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        key = getattr(self.options, "api_key", "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url + path, method=method, headers=headers, data=data)
        try:
            response = _Response(urllib.request.urlopen(request, timeout=getattr(self.options, "timeout_s", 300)))
        except urllib.error.HTTPError as e:  # the upstream answered, and said no
            code = (grpc.StatusCode.INVALID_ARGUMENT if 400 <= e.code < 500 else
                    grpc.StatusCode.UNAVAILABLE if e.code in BUSY else grpc.StatusCode.INTERNAL)
            raise UpstreamError(code, f"upstream {self.url} answered {e.code}: {_message(e.read())}", e.code) from None
        except (urllib.error.URLError, OSError) as e:  # not reachable: another worker may serve it
            self._problem = f"upstream {self.url} unreachable: {e}"
            raise BackendError(grpc.StatusCode.UNAVAILABLE, self._problem) from None
        self._problem = ""
        return response


def _container(request: intent_pb2.TranscribeRequest) -> str:
    """The audio's container, told by its first bytes (the declared format only names it in the error)."""
    audio = request.audio
    if not audio:
        raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: transcribe.audio is empty")
    if audio[:1] == b"\xff" and len(audio) > 1 and audio[1] & 0xE0 == 0xE0:  # an MPEG frame, no ID3 tag
        return "mp3"
    found = next((name for magic, name in CONTAINERS.items() if audio.startswith(magic)), "")
    if not found:
        declared = intent_pb2.AudioFormat.Name(request.format).removeprefix("AUDIO_FORMAT_").lower()
        raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"upstream: transcribe.audio is not {declared} audio: its first bytes are no WAV, WebM, "
                           f"Ogg, MP3 or FLAC header")
    return found


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """multipart/form-data with one file part, as OpenAI's audio endpoints take it."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _audio(data: bytes, content_type: str) -> intent_pb2.Audio:
    """The upstream's WAV, re-headed: a streamed WAV's header gives no length, and callers get 16-bit mono."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            pcm = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError, struct.error) as e:
        raise BackendError(grpc.StatusCode.INTERNAL, f"upstream sent {content_type or 'audio'} that is not the "
                           f"PCM WAV asked for (response_format wav): {e}") from None
    if (channels, width) != (1, 2) or not rate:
        raise BackendError(grpc.StatusCode.INTERNAL, f"upstream sent a {channels}-channel {8 * width}-bit WAV; "
                           "MTOR carries 16-bit mono")
    pcm = pcm[:len(pcm) // 2 * 2]
    return intent_pb2.Audio(wav=media.encode_wav(pcm, rate), sample_rate=rate, duration_s=len(pcm) / 2 / rate)


def _png(b64: Any) -> bytes:
    """The image of a b64_json answer, which must be a PNG (a `url` answer is not fetched)."""
    try:
        png = base64.b64decode(b64) if isinstance(b64, str) else b""
    except binascii.Error:
        png = b""
    if media.png_size(png) is None:
        raise BackendError(grpc.StatusCode.INTERNAL, "upstream sent no base64 PNG in data[0].b64_json")
    return png


def _message(raw: bytes) -> str:
    """The upstream's own words: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}, or the plain text."""
    text = raw.decode(errors="replace").strip()
    try:
        found: Any = json.loads(text)
    except ValueError:
        return text[:500]
    while isinstance(found, dict) and (inner := next((found[k] for k in ("message", "error", "detail")
                                                      if found.get(k)), None)) is not None:
        found = inner
    return str(found)[:500]


class _Response:
    """An HTTP response read as JSON, as bytes, or as server-sent events."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __enter__(self) -> "_Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def json(self) -> Any:
        with self._raw:
            return json.loads(self._raw.read())

    def read(self) -> tuple[bytes, str]:
        """The body and its Content-Type."""
        with self._raw:
            return self._raw.read(), self._raw.headers.get("Content-Type", "")

    def events(self) -> Iterator[dict[str, Any]]:
        """The stream's events up to `[DONE]`; a stream that stops short, or sends an error, raises."""
        for line in self._raw:
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return
            event = json.loads(data)
            if "error" in event:
                raise BackendError(grpc.StatusCode.INTERNAL, f"upstream error: {event['error']}")
            yield event
        raise BackendError(grpc.StatusCode.INTERNAL,
                           "upstream ended the stream before it finished (its own log says why)")
