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
an image's seed) are not sent. HTTP is httpx2's async client on the worker's event loop: one pool of
keep-alive connections (as many as the worker's max_concurrency) for every request, its server-sent events
read as they come.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import struct
import wave
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker import media
from mtor_worker.backends.base import Backend, BackendError, Capability, Job, embeddings, finish_reason

if TYPE_CHECKING:
    import httpx2

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


class UpstreamBackend(Backend):
    section = UpstreamSection
    name = "upstream"

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self.url = getattr(options, "url", "").rstrip("/")
        self.kinds = [k.strip().lower() for k in getattr(options, "kinds", ["chat"])]
        self.models: list[str] = list(getattr(options, "models", []))
        self._problem = ""
        self._http: httpx2.AsyncClient | None = None
        self._serve: dict[str, Callable[[Job], Awaitable[intent_pb2.IntentResult]]] = {
            "chat": self._chat, "transcribe": self._transcribe, "speak": self._speak, "imagine": self._imagine,
            "embed": self._embed}

    def capabilities(self) -> list[Capability]:
        return [Capability(kind=kind, models=self.models) for kind in self.kinds]

    def healthy(self) -> tuple[bool, str]:
        return (not self._problem, self._problem)

    async def load(self) -> None:
        if not self.url:
            raise ValueError("no upstream configured: set [upstream] url (e.g. http://127.0.0.1:8000/v1)")
        unknown = [k for k in self.kinds if k not in self._serve]
        if unknown or not self.kinds:
            raise ValueError(f"[upstream] kinds {self.kinds}: choose among {', '.join(self._serve)}")
        import httpx2  # the upstream extra; a worker without this backend never imports it

        logging.getLogger("httpx2").setLevel(logging.WARNING)  # not a line per request in the worker's log
        key = getattr(self.options, "api_key", "")
        slots = max(1, self.settings.max_concurrency)
        self._http = httpx2.AsyncClient(
            base_url=self.url + "/", headers={"Accept": "application/json, text/event-stream, audio/wav",
                                              **({"Authorization": f"Bearer {key}"} if key else {})},
            timeout=getattr(self.options, "timeout_s", 300.0),
            limits=httpx2.Limits(max_connections=slots, max_keepalive_connections=slots))
        self.models = self.models or await self._listed_models()
        log.info("upstream %s serves %s with %s", self.url, ", ".join(self.kinds),
                 ", ".join(self.models) or "any model name")

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def _listed_models(self) -> list[str]:
        """The server's /models, which also proves it answers; none where it has no such endpoint."""
        try:
            return [m["id"] for m in (await self._json("GET", "models"))["data"]]
        except UpstreamError as e:
            if e.status in (404, 405):  # it answers, but lists nothing (faster-whisper-server): any name goes
                return []
            raise

    async def run(self, job: Job) -> intent_pb2.IntentResult:
        return await self._serve[job.kind](job)

    def _model(self, job: Job) -> str:
        return job.model or (self.models[0] if self.models else DEFAULT_MODEL[job.kind])

    async def _chat(self, job: Job) -> intent_pb2.IntentResult:
        from httpx2 import EventSource

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
        done = False
        # a cancelled job cancels this task: leaving the block closes the connection, and the server stops
        async with self._call("POST", "chat/completions", json=body) as response:
            async for sse in EventSource(response):  # read to its end, so that the connection goes back to the pool
                if done or sse.data == "[DONE]":
                    done = True
                    continue
                event = _event(sse.data)
                choices = event.get("choices") or [{}]
                text = (choices[0].get("delta") or {}).get("content") or ""
                reason = choices[0].get("finish_reason") or reason
                prompt_tokens = int((event.get("usage") or {}).get("prompt_tokens") or prompt_tokens)
                if text:
                    pieces.append(text)
                    job.emit_text(text)
        if not done:
            raise BackendError(grpc.StatusCode.INTERNAL,
                               "upstream ended the stream before it finished (its own log says why)")
        return intent_pb2.IntentResult(text=intent_pb2.TextOutput(text="".join(pieces), tokens=len(pieces),
                                                                  finish_reason=finish_reason(reason),
                                                                  prompt_tokens=prompt_tokens),
                                       model=model)

    async def _transcribe(self, job: Job) -> intent_pb2.IntentResult:
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
        path = "audio/translations" if translate else "audio/transcriptions"
        audio = ("file", (f"audio.{_container(request)}", request.audio, "application/octet-stream"))
        answer = await self._json("POST", path, data=fields, files=[audio])
        out = intent_pb2.Transcript(text=str(answer.get("text", "")).strip(),
                                    language=request.language or str(answer.get("language") or ""))
        for segment in answer.get("segments") or []:
            out.segments.add(start_s=float(segment["start"]), end_s=float(segment["end"]),
                             text=str(segment["text"]).strip())
        out.duration_s = float(answer.get("duration") or (out.segments[-1].end_s if out.segments else 0.0))
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(transcript=out, model=model)

    async def _speak(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.speak
        if not request.text.strip():
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: speak.text is empty")
        model = self._model(job)
        body: dict[str, Any] = {"model": model, "input": request.text, "response_format": "wav"}
        if request.voice:  # none: the server's default voice
            body["voice"] = request.voice
        if request.HasField("speed"):
            body["speed"] = request.speed
        async with self._call("POST", "audio/speech", json=body) as response:
            audio = _audio(await response.aread(), response.headers.get("Content-Type", ""))
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(audio=audio, model=model)

    async def _imagine(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.imagine
        if not request.prompt.strip():
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: imagine.prompt is empty")
        model = self._model(job)
        body = {"model": model, "prompt": request.prompt, "n": 1, "response_format": "b64_json",
                "size": f"{request.width or 512}x{request.height or 512}"}
        answer = await self._json("POST", "images/generations", json=body)
        png = _png((answer.get("data") or [{}])[0].get("b64_json"))
        width, height = media.png_size(png) or (0, 0)
        job.emit_progress(1.0)
        # no seed: OpenAI's API takes none, so the picture cannot be repeated by one
        return intent_pb2.IntentResult(image=intent_pb2.Image(png=png, width=width, height=height), model=model)

    async def _embed(self, job: Job) -> intent_pb2.IntentResult:
        texts = list(job.request.embed.texts)
        if not texts:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "upstream: embed.texts is empty")
        model = self._model(job)
        answer = await self._json("POST", "embeddings", json={"model": model, "input": texts,
                                                             "encoding_format": "float"})
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

    @asynccontextmanager
    async def _call(self, method: str, path: str, **content: Any) -> AsyncIterator[httpx2.Response]:
        """One HTTP call on the pool (`content`: httpx2's json=, or data= and files= for a form), its body
        still to be read; an HTTP error status raises UpstreamError with the upstream's own words."""
        import httpx2

        assert self._http is not None, "load() opens the connection pool"
        answered = False
        try:
            async with self._http.stream(method, path, **content) as response:
                answered = True
                self._problem = ""
                if response.is_error:  # the upstream answered, and said no
                    status = response.status_code
                    code = (grpc.StatusCode.INVALID_ARGUMENT if 400 <= status < 500 else
                            grpc.StatusCode.UNAVAILABLE if status in BUSY else grpc.StatusCode.INTERNAL)
                    raise UpstreamError(code, f"upstream {self.url} answered {status}: "
                                        f"{_message(await response.aread())}", status)
                yield response
        except httpx2.TransportError as e:
            if answered:  # it broke off in the middle of its answer
                raise BackendError(grpc.StatusCode.INTERNAL, f"upstream {self.url} broke off its answer: "
                                   f"{type(e).__name__}: {e}") from None
            self._problem = f"upstream {self.url} unreachable: {type(e).__name__}: {e}"  # another worker may serve it
            raise BackendError(grpc.StatusCode.UNAVAILABLE, self._problem) from None

    async def _json(self, method: str, path: str, **content: Any) -> Any:
        async with self._call(method, path, **content) as response:
            raw = await response.aread()
        try:
            return json.loads(raw)
        except ValueError:
            raise BackendError(grpc.StatusCode.INTERNAL, f"upstream sent no JSON: {raw[:200]!r}") from None


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


def _event(data: str) -> dict[str, Any]:
    """One chunk of a streamed chat completion; an error the server streams instead raises."""
    try:
        event = json.loads(data)
    except ValueError:
        raise BackendError(grpc.StatusCode.INTERNAL,
                           f"upstream streamed an event that is no JSON: {data[:200]!r}") from None
    if not isinstance(event, dict):
        raise BackendError(grpc.StatusCode.INTERNAL, f"upstream streamed {data[:200]!r}, not a JSON object")
    if "error" in event:
        raise BackendError(grpc.StatusCode.INTERNAL, f"upstream error: {event['error']}")
    return event
