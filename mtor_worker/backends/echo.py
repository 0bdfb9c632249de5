"""The `echo` backend: serves every kind with any model name, deterministically
and without any model, for tests, demos and benchmarks of the plumbing.

Outputs:
  chat       TextOutput "echo: <prompt>" (with `messages`, the last user
             message's content), streamed as word chunks ("echo: ", "hello ",
             "world"); tokens = number of chunks. The deltas joined equal the text.
             A max_tokens below the number of chunks cuts the answer there
             (finish_reason LENGTH); otherwise finish_reason is STOP. prompt_tokens
             = words in the prompt (with `messages`, in all of their contents).
  vision     TextOutput "echo: <prompt> (<n> bytes of image)", prompt default
             "Describe this image in detail", streamed like chat.
  transcribe Transcript "echo: <n> bytes of audio", language = the request's or
             "en", one segment 0..duration (duration from the WAV header, else 0).
             With task TRANSLATE: "echo: <n> bytes of audio, in English", language "en";
             with a prompt, " (prompt: <prompt>)" follows.
  speak      Audio: 16-bit mono 16 kHz WAV, 0.1 s of a quiet 440 Hz sine per word.
  imagine    Image: a solid-colour PNG, width x height (0 means 512), colour
             from sha256 of the seed; the seed is echoed (random if unset);
             one progress delta per step (steps 0 means 4).
  embed      Embeddings: one 16-dimensional unit vector per text, from sha256 of
             the text (equal texts, equal vectors); prompt_tokens = words in all.
The model in each result is the requested one, or "echo" if none was named.

`echo_delay_s` (settings) pauses before every streamed chunk and every imagine
step, to simulate generation speed.

Test hooks, in the text of chat, vision, imagine and speak requests (embed: its first text):
  "!fail ..."     fails with INTERNAL "echo: asked to fail".
  "!sleep 2.5 ..." sleeps that many seconds (cancellable) before answering.
Empty chat prompt/messages or empty speak text fail with INVALID_ARGUMENT.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import random
import re

import grpc
from mtor_client import kinds
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_worker import media
from mtor_worker.backends.base import Backend, BackendError, Capability, Job, embeddings

SPEAK_SAMPLE_RATE = 16000
SPEAK_SECONDS_PER_WORD = 0.1
MAX_IMAGE_SIDE = 4096
DEFAULT_IMAGE_SIDE = 512
DEFAULT_STEPS = 4
DEFAULT_VISION_PROMPT = "Describe this image in detail"
EMBED_DIMENSIONS = 16

_SLEEP = re.compile(r"!sleep\s+(\S+)")


@functools.cache
def _word_tone() -> bytes:
    # 440 Hz fits exactly 44 periods into 0.1 s, so repeated blocks join smoothly.
    return media.sine_pcm16(SPEAK_SECONDS_PER_WORD, SPEAK_SAMPLE_RATE, 440.0, 0.1)


def _chunks(text: str) -> list[str]:
    """Word chunks that keep their trailing spaces, so they join back to `text`."""
    return re.findall(r"\S+\s*", text)


def embed_vector(text: str) -> list[float]:
    """The echo embedding of `text`: EMBED_DIMENSIONS values from its sha256, scaled to length 1."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i] - 127.5) / 127.5 for i in range(EMBED_DIMENSIONS)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def _seed_colour(seed: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.to_bytes(8, "little", signed=True)).digest()
    return digest[0], digest[1], digest[2]


class EchoBackend(Backend):
    """Deterministic stand-in for every model; pure asyncio, never blocks."""

    name = "echo"

    def capabilities(self) -> list[Capability]:
        return [Capability(kind=k, models=[]) for k in kinds.WORKER_KINDS]

    async def run(self, job: Job) -> intent_pb2.IntentResult:
        handler = {
            "chat": self._chat,
            "vision": self._vision,
            "transcribe": self._transcribe,
            "speak": self._speak,
            "imagine": self._imagine,
            "embed": self._embed,
        }.get(job.kind)
        if handler is None:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, f"echo: cannot serve kind {job.kind!r}")
        result = await handler(job)
        result.model = job.model or "echo"
        return result

    # ---------------------------------------------------------------- kinds --

    async def _chat(self, job: Job) -> intent_pb2.IntentResult:
        chat = job.request.chat
        if chat.messages:
            users = [m.content for m in chat.messages if m.role == "user"]
            prompt = users[-1] if users else ""
            read = sum(len(m.content.split()) for m in chat.messages)
        else:
            prompt = chat.prompt
            read = len(prompt.split())
        if not prompt.strip():
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "echo: empty prompt")
        await self._hooks(job, prompt)
        result = await self._stream_text(job, f"echo: {prompt}", chat.max_tokens)
        result.text.prompt_tokens = read
        return result

    async def _vision(self, job: Job) -> intent_pb2.IntentResult:
        vision = job.request.vision
        prompt = vision.prompt or DEFAULT_VISION_PROMPT
        await self._hooks(job, prompt)
        return await self._stream_text(job, f"echo: {prompt} ({len(vision.image)} bytes of image)",
                                       vision.max_tokens)

    async def _transcribe(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.transcribe
        duration = media.wav_duration(request.audio) or 0.0
        text = f"echo: {len(request.audio)} bytes of audio"
        translate = request.task == intent_pb2.TRANSCRIBE_TASK_TRANSLATE
        if translate:
            text += ", in English"
        if request.prompt:
            text += f" (prompt: {request.prompt})"
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(transcript=intent_pb2.Transcript(
            text=text,
            language="en" if translate else request.language or "en",
            segments=[intent_pb2.TranscriptSegment(start_s=0.0, end_s=duration, text=text)],
            duration_s=duration,
        ))

    async def _speak(self, job: Job) -> intent_pb2.IntentResult:
        text = job.request.speak.text
        words = text.split()
        if not words:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "echo: empty text")
        await self._hooks(job, text)
        wav = media.encode_wav(_word_tone() * len(words), SPEAK_SAMPLE_RATE)
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(audio=intent_pb2.Audio(
            wav=wav, sample_rate=SPEAK_SAMPLE_RATE, duration_s=len(words) * SPEAK_SECONDS_PER_WORD))

    async def _imagine(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.imagine
        width = request.width or DEFAULT_IMAGE_SIDE
        height = request.height or DEFAULT_IMAGE_SIDE
        if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"echo: image sides are at most {MAX_IMAGE_SIDE} pixels")
        await self._hooks(job, request.prompt)
        seed = request.seed if request.HasField("seed") else random.randrange(2**31)
        steps = request.steps or DEFAULT_STEPS
        for step in range(1, steps + 1):
            await self._pause(job, self.settings.echo_delay_s)
            job.emit_progress(step / steps)
        # Compressing a large image takes a while; keep it off the event loop.
        png = await asyncio.to_thread(media.encode_png_solid, width, height, _seed_colour(seed))
        return intent_pb2.IntentResult(image=intent_pb2.Image(png=png, width=width, height=height, seed=seed))

    async def _embed(self, job: Job) -> intent_pb2.IntentResult:
        texts = list(job.request.embed.texts)
        if not texts or not all(t.strip() for t in texts):
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "echo: empty text to embed")
        await self._hooks(job, texts[0])
        return intent_pb2.IntentResult(embeddings=embeddings([embed_vector(t) for t in texts],
                                                             sum(len(t.split()) for t in texts), "echo"))

    # -------------------------------------------------------------- helpers --

    async def _stream_text(self, job: Job, text: str, max_tokens: int = 0) -> intent_pb2.IntentResult:
        """`text` in word chunks, each counted as a token; cut after `max_tokens` of them (0: no limit)."""
        chunks = _chunks(text)
        reason = intent_pb2.FINISH_REASON_STOP
        if 0 < max_tokens < len(chunks):
            chunks, reason = chunks[:max_tokens], intent_pb2.FINISH_REASON_LENGTH
        for chunk in chunks:
            await self._pause(job, self.settings.echo_delay_s)
            job.emit_text(chunk)
        return intent_pb2.IntentResult(text=intent_pb2.TextOutput(text="".join(chunks), tokens=len(chunks),
                                                                  finish_reason=reason))

    async def _hooks(self, job: Job, text: str) -> None:
        """The test hooks: "!fail" and "!sleep SECONDS" at the start of the text."""
        text = text.lstrip()
        if text.startswith("!fail"):
            raise BackendError(grpc.StatusCode.INTERNAL, "echo: asked to fail")
        match = _SLEEP.match(text)
        if match:
            try:
                seconds = float(match.group(1))
            except ValueError:
                raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"echo: bad sleep {match.group(1)!r}") from None
            await self._pause(job, seconds)

    @staticmethod
    async def _pause(job: Job, seconds: float) -> None:
        """Sleep, waking every 50 ms to honour `job.cancelled` as well as task cancellation."""
        loop = asyncio.get_running_loop()
        end = loop.time() + max(0.0, seconds)
        while True:
            job.raise_if_cancelled()
            left = end - loop.time()
            if left <= 0:
                await asyncio.sleep(0)  # still yield, so a busy worker stays responsive
                return
            await asyncio.sleep(min(left, 0.05))
