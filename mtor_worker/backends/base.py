"""The interface every model backend implements, and the Job it is handed.

The runtime owns the realm connection, timeouts, cancellation and the exactly-
one-terminal-update rule; a backend only turns one IntentRequest into one
IntentResult. Backends that call blocking libraries (llama.cpp, whisper,
diffusers) subclass BlockingBackend so their work runs in threads and the
event loop keeps heartbeats flowing while a model computes.
"""
from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import WorkerSection


@dataclass(frozen=True)
class Capability:
    """One kind a backend serves; `models` empty means any model name."""

    kind: str
    models: list[str] = field(default_factory=list)


class BackendError(Exception):
    """A failure the backend can name: the runtime answers `failed` with `code`.

    Raise it with INVALID_ARGUMENT for input the model cannot use (so the realm
    does not retry elsewhere); any other exception becomes INTERNAL.
    """

    def __init__(self, code: grpc.StatusCode | int, message: str) -> None:
        super().__init__(message)
        self.code: int = code.value[0] if isinstance(code, grpc.StatusCode) else int(code)
        self.message: str = message

    def __str__(self) -> str:
        return self.message


def status_name(code: int) -> str:
    """Numeric gRPC code -> its name ("DEADLINE_EXCEEDED"), for logs."""
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return str(status.name)
    return str(code)


def finish_reason(name: str | None) -> int:
    """An OpenAI-style finish_reason ("stop", "length"), as llama.cpp and OpenAI-compatible servers report it,
    as mtor.v1's FinishReason; UNSPECIFIED for none or any other."""
    return {"stop": intent_pb2.FINISH_REASON_STOP,
            "length": intent_pb2.FINISH_REASON_LENGTH}.get(name or "", intent_pb2.FINISH_REASON_UNSPECIFIED)


def embeddings(vectors: list[list[float]], prompt_tokens: int, who: str) -> intent_pb2.Embeddings:
    """An embed intent's output: the vectors, all of one length and every value finite (the realm refuses a
    message with a NaN or an infinity in it), or INTERNAL naming `who` when a model gave otherwise."""
    sizes = {len(v) for v in vectors}
    if len(sizes) != 1 or 0 in sizes:
        raise BackendError(grpc.StatusCode.INTERNAL, f"{who}: vectors of lengths {sorted(sizes)}; expected one "
                           "length, above 0")
    if not all(math.isfinite(x) for v in vectors for x in v):
        raise BackendError(grpc.StatusCode.INTERNAL, f"{who}: the model gave a NaN or an infinity in a vector")
    return intent_pb2.Embeddings(vectors=[intent_pb2.Embedding(values=v) for v in vectors], dimensions=sizes.pop(),
                                 prompt_tokens=prompt_tokens)


DeltaSink = Callable[[intent_pb2.Delta], None]


@dataclass(eq=False)
class Job:
    """One assignment as a backend sees it.

    `emit_text` / `emit_progress` may be called from any thread: deltas are
    handed to the event loop with call_soon_threadsafe (or directly when
    already on it, so they keep their order ahead of the terminal result).
    Blocking code polls `cancelled` (or calls `raise_if_cancelled`) between
    steps; `deadline` is a time.monotonic() instant, or None for no limit.
    """

    request: intent_pb2.IntentRequest
    kind: str
    model: str
    deadline: float | None = None
    assignment_id: str = ""
    intent_id: str = ""
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_delta: DeltaSink | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        if self.loop is None:
            try:
                self.loop = asyncio.get_running_loop()
            except RuntimeError:
                self.loop = None
        # Jobs are made on the loop's thread; emits from it deliver directly.
        self._loop_thread = threading.get_ident()
        self._closed = False

    def emit_text(self, text: str) -> None:
        """Stream the next chunk of generated text (chat, vision)."""
        if text:
            self._emit(intent_pb2.Delta(text=text))

    def emit_progress(self, fraction: float) -> None:
        """Report the fraction done, clamped to 0.0..1.0 (transcribe, speak, imagine)."""
        self._emit(intent_pb2.Delta(fraction=min(1.0, max(0.0, float(fraction)))))

    def time_left(self) -> float | None:
        """Seconds until the deadline (may be negative), or None without one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def raise_if_cancelled(self) -> None:
        """For blocking loops: stop with CANCELLED once the job was cancelled."""
        if self.cancelled.is_set():
            raise BackendError(grpc.StatusCode.CANCELLED, "cancelled")

    def close(self) -> None:
        """Called by the runtime after the terminal update: later emits are dropped."""
        self._closed = True
        self.cancelled.set()

    def _emit(self, delta: intent_pb2.Delta) -> None:
        if self._closed or self.on_delta is None:
            return
        if self.loop is None or threading.get_ident() == self._loop_thread:
            self._deliver(delta)
            return
        try:
            self.loop.call_soon_threadsafe(self._deliver, delta)
        except RuntimeError:  # loop closed: the worker is gone, nobody listens
            pass

    def _deliver(self, delta: intent_pb2.Delta) -> None:
        if not self._closed and self.on_delta is not None:
            self.on_delta(delta)


class Backend(abc.ABC):
    """A model server plugged into the worker.

    Life cycle: constructed with the worker settings (cheap, no model work),
    `load()` once at start (a failure is logged and the worker serves its
    other backends), then `run()` for many jobs, possibly concurrently up to
    max_concurrency, and `close()` at exit. `healthy()` is called for every
    heartbeat, on the event loop, so it must be quick and never block.
    """

    name: str = "backend"
    section: type | None = None
    """The dataclass of its own config section ([llama], ...; fields made by config.setting), if it has one; the
    section is named as the backend is in the worker's backend list."""

    def __init__(self, settings: WorkerSection, options: Any = None) -> None:
        self.settings = settings
        self.options = options  # its own config section, an instance of `section`

    @abc.abstractmethod
    def capabilities(self) -> list[Capability]:
        """Kinds and models this backend serves (after load())."""

    async def load(self) -> None:
        """Load models; raise to report that this backend cannot serve."""

    def healthy(self) -> tuple[bool, str]:
        """(ok, why-not) for heartbeats; the reason is shown to people."""
        return True, ""

    @abc.abstractmethod
    async def run(self, job: Job) -> intent_pb2.IntentResult:
        """Serve one job: emit deltas through the job, return the output.

        Set the output oneof (and `model` if known); the runtime fills `kind`
        and a missing `model`. Raise BackendError for a named failure.
        """

    async def close(self) -> None:
        """Release models and threads at worker exit."""


class BlockingBackend(Backend):
    """A backend whose model calls block: `run_blocking` runs in a thread.

    The pool has max_concurrency threads, so the worker never runs more model
    calls than it advertised. A cancelled job that already started keeps its
    thread until `run_blocking` next checks `job.cancelled`; one not yet
    started is dropped from the pool queue.
    """

    def __init__(self, settings: WorkerSection, options: Any = None) -> None:
        super().__init__(settings, options)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, settings.max_concurrency), thread_name_prefix=f"mtor-{self.name}")

    def load_blocking(self) -> None:
        """Load models (blocking); runs in the backend's pool."""

    @abc.abstractmethod
    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        """Serve one job (blocking); poll `job.cancelled` between steps."""

    async def load(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self.load_blocking)

    async def run(self, job: Job) -> intent_pb2.IntentResult:
        future = asyncio.get_running_loop().run_in_executor(self._executor, self.run_blocking, job)
        try:
            return await future
        except asyncio.CancelledError:
            job.cancelled.set()  # tell the thread; it stops at its next check
            raise

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
