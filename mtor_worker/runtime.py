"""The worker process: keeps one WorkerLink.Connect stream open to its realm
and serves the assignments that arrive on it.

One connection at a time, opened by the worker (no inbound port). Backends are
loaded once and survive reconnections. When a stream breaks, the assignments
running on it are cancelled: their results could no longer be delivered, and
the realm has already re-dispatched them. Draining (SIGTERM/SIGINT or
`Worker.drain()`) finishes running work and takes no new work; a second
signal cancels what still runs.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Sequence

import grpc
from mtor_client import kinds
from mtor_client._proto.mtor.v1 import intent_pb2, worker_link_pb2, worker_link_pb2_grpc
from mtor_client.channels import TLS, channel_credentials, split_target

from mtor_common.address import host_of, is_loopback
from mtor_common.backoff import Backoff
from mtor_common.coalesce import coalesced, ready
from mtor_common.config import Config, WorkerSection
from mtor_common.tls import client_tls
from mtor_worker import PROTOCOL, VERSION
from mtor_worker.backends import Backend, Job, create_backend, resolve_backends
from mtor_worker.backends.base import status_name
from mtor_worker.device import DeviceInfo, DeviceMonitor
from mtor_worker.execution import Outcome, error, execute, merge_capabilities, select_backend

log = logging.getLogger("mtor.worker")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""gRPC message limit both ways: audio and images travel inside messages."""
WELCOME_TIMEOUT_S = 10.0
"""A realm that accepts the stream but never welcomes is treated as down."""
CLOSE_GRACE_S = 5.0
"""After a drain half-closes the stream, how long the realm gets to end it."""
DEFAULT_HEARTBEAT_S = 1.0
"""Used when a Welcome carries no heartbeat interval."""
MIN_HEARTBEAT_S = 0.05
"""Floor on the realm's interval, so a bad value cannot flood the stream."""
CHANGE_CHECK_S = 0.5
"""How often the worker looks for a change in what its heartbeat says (its own checks, nothing sent)."""
VRAM_STEP_BYTES = 256 * 1024 * 1024
"""Free device memory changes by less than this are not news: a GPU's jitter sends no heartbeats."""
UNHEALTHY_EVERY_S = 1.0
"""While its backends fail their checks, a worker says so this often: each unhealthy heartbeat costs it health
points, so a broken worker is blacklisted in seconds, not after as many of the realm's long intervals."""
REFUSALS = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
                      grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT,
                      grpc.StatusCode.UNIMPLEMENTED})
"""Statuses that mean the realm will not take this worker as it is: retrying
fast cannot help, so the next attempt waits the longest backoff."""

ChannelFactory = Callable[[str], grpc.aio.Channel]
"""target "host:port" -> channel; the seam where TLS credentials plug in."""
CHANNEL_OPTIONS = (("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES))
"""Message limits large enough for media."""


def realm_channels(tls: TLS | None = None) -> ChannelFactory:
    """Channels to the realm, by the client SDK's rule: TLS (with `tls`, or the
    system's roots) for a grpcs:// target or when `tls` is given, else plaintext."""
    def open_channel(target: str) -> grpc.aio.Channel:
        address, secure = split_target(target, tls)
        if secure:
            return grpc.aio.secure_channel(address, channel_credentials(tls), options=CHANNEL_OPTIONS)
        return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)

    return open_channel


def _update(assignment_id: str, **update: object) -> worker_link_pb2.WorkerMessage:
    return worker_link_pb2.WorkerMessage(
        update=worker_link_pb2.AssignmentUpdate(assignment_id=assignment_id, **update))


async def _status(call: grpc.aio.StreamStreamCall) -> str:
    """A finished call's status as "CODE: details" (just "CODE" without details)."""
    code, details = await call.code(), await call.details()
    return f"{code.name}: {details}" if details else str(code.name)


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, intent_pb2.Error):
        return f"failed {status_name(outcome.code)}: {outcome.message}"
    return f"result ({outcome.WhichOneof('output')})"


def _update_of(message: worker_link_pb2.WorkerMessage | None) -> worker_link_pb2.AssignmentUpdate | None:
    return message.update if message is not None and message.WhichOneof("message") == "update" else None


def _updates(run: list[worker_link_pb2.AssignmentUpdate]) -> worker_link_pb2.WorkerMessage:
    return worker_link_pb2.WorkerMessage(updates=worker_link_pb2.AssignmentUpdates(updates=run))


class _Link:
    """One open Connect stream's sending side: a FIFO drained by one writer
    task, because grpc.aio allows a single write in flight and updates must
    keep their order (deltas before the terminal update)."""

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call
        self._queue: asyncio.Queue[worker_link_pb2.WorkerMessage | None] = asyncio.Queue()
        self._closed = False
        self.takes_batches = False
        """The realm's welcome said it takes several updates in one message."""
        self.writer = asyncio.get_running_loop().create_task(self._write(), name="mtor-worker-writer")

    def send(self, message: worker_link_pb2.WorkerMessage) -> None:
        """Queue a message; dropped once the stream is closing or gone."""
        if not self._closed:
            self._queue.put_nowait(message)

    def close_writing(self) -> None:
        """Half-close after everything queued so far has been written."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)

    def abandon(self) -> None:
        """The stream is gone: drop whatever is still queued or sent later."""
        self._closed = True

    async def _write(self) -> None:
        try:
            while True:
                messages = ready(await self._queue.get(), self._queue)
                for message in coalesced(messages, _update_of, _updates) if self.takes_batches else messages:
                    if message is None:
                        await self._call.done_writing()
                        return
                    await self._call.write(message)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError, grpc.aio.UsageError) as e:
            # The reader sees the same end of the stream and reports it.
            self._closed = True
            log.debug("stream write stopped: %s", e)


@dataclass(eq=False)
class _Running:
    """An assignment in progress and what is needed to stop and answer it."""

    assignment: worker_link_pb2.Assignment
    job: Job
    backend: Backend
    link: _Link
    started: float = field(default_factory=time.monotonic)
    task: asyncio.Task[None] | None = None
    cancel_reason: str = ""
    finished: bool = False


class Worker:
    """Serves a realm with the given backends until drained.

    `channel_factory` builds the channel for `settings.realm` (default:
    realm_channels(): plaintext, or TLS with the system's roots for grpcs://).
    `locate` returns the realm's address anew when it stops answering where it
    was (a realm found by discovery may come back on another port or host).
    """

    def __init__(self, settings: WorkerSection, backends: Sequence[Backend], *, join_token: str = "",
                 channel_factory: ChannelFactory | None = None,
                 devices: DeviceMonitor | None = None,
                 locate: Callable[[], Awaitable[str]] | None = None) -> None:
        if settings.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.settings = settings
        self.backends: list[Backend] = list(backends)
        self.load_errors: dict[str, str] = {}
        """Backend name -> why it failed to load; those backends are not served."""
        self.worker_id = ""
        """Id the realm gave the current connection; empty while disconnected."""
        self.realm_name = ""
        self._serving: list[Backend] = []
        self._channel_factory = channel_factory or realm_channels()
        self._metadata = (("authorization", f"Bearer {join_token}"),) if join_token else ()
        self._devices = devices or DeviceMonitor()
        self._running: dict[str, _Running] = {}
        self._draining = False
        self._said: tuple | None = None  # the gist (heartbeat_gist) of the last heartbeat sent, and when
        self._said_at = float("-inf")
        self._forced = False
        self._cancelled_work = False
        self._stop = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_failure = ""
        self._locate = locate
        """Finds the realm again (discovery) when it is no longer where it was; None: settings.realm is fixed."""
        self._realm_gone = False
        self.ready = asyncio.Event()
        """Set once the backends are loaded and the worker starts serving."""

    # ------------------------------------------------------------ controls --

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def running(self) -> int:
        """Assignments running now."""
        return len(self._running)

    def drain(self) -> None:
        """Finish running assignments, take no new ones, then close and let run() return 0.

        A heartbeat with draining=true goes out at once so the realm stops
        dispatching here. Idempotent; call from the event loop's thread.
        """
        if self._draining:
            return
        log.info("draining: finishing %d running assignment(s), taking no new ones", len(self._running))
        self._draining = True
        self._stop.set()

    def stop_now(self) -> None:
        """Cancel running assignments (each answered CANCELLED) and exit;
        run() then returns 1 if there was work to cancel."""
        self._forced = True
        self._cancelled_work = self._cancelled_work or bool(self._running)
        self.drain()
        for running in list(self._running.values()):
            self._cancel(running, "worker is shutting down")

    # ----------------------------------------------------------------- run --

    async def run(self, *, handle_signals: bool = True) -> int:
        """Load backends, then serve the realm, reconnecting, until drained.

        Returns 0 after a drain, 1 when no backend could load or running work
        had to be cancelled by a second signal or stop_now().
        """
        loop = asyncio.get_running_loop()
        installed = self._install_signals(loop) if handle_signals else []
        try:
            if not await self._load_backends():
                return 0 if self._draining else 1
            self.ready.set()
            await self._serve_forever()
            return 1 if self._cancelled_work else 0
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            for backend in self.backends:
                try:
                    await backend.close()
                except Exception:
                    log.exception("backend %s failed to close", backend.name)
            await self._devices.close()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[signal.Signals]:
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not main thread / platform
                continue
            installed.append(sig)
        return installed

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self._draining:
            log.info("%s received: draining (send it again to cancel running work)", sig.name)
            self.drain()
        elif not self._forced:
            log.warning("%s received while draining: cancelling %d running assignment(s)",
                        sig.name, len(self._running))
            self.stop_now()

    async def _load_backends(self) -> bool:
        """Load every backend once; False when nothing can be served (or a drain came first)."""
        loading = asyncio.create_task(self._load_all())
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not loading.done():
            loading.cancel()
            await asyncio.gather(loading, return_exceptions=True)
            log.info("stopped while loading backends")
            return False
        if not self._serving:
            log.error("no backend could be loaded (%s); nothing to serve",
                      "; ".join(f"{k}: {v}" for k, v in self.load_errors.items()) or "none configured")
            return False
        return not self._draining

    async def _load_all(self) -> None:
        for backend in self.backends:
            try:
                await backend.load()
                caps = backend.capabilities()
                for cap in caps:
                    kinds.to_proto(cap.kind)  # a typo'd kind is a load failure, not a bad hello
            except Exception as e:
                self.load_errors[backend.name] = f"{type(e).__name__}: {e}"
                log.error("backend %s failed to load, serving without it: %s", backend.name, e,
                          exc_info=True)
                continue
            self._serving.append(backend)
            log.info("backend %s ready: %s", backend.name,
                     ", ".join(f"{c.kind}[{','.join(c.models) or 'any model'}]" for c in caps))

    async def _serve_forever(self) -> None:
        backoff = Backoff(0.1, self.settings.reconnect_max_s)
        while not self._draining:
            if self._realm_gone and self._locate is not None and not await self._relocate():
                return
            await self._connect_once(backoff)
            if self._draining:
                return
            delay = backoff.next_delay()
            log.debug("reconnecting in %.2f s", delay)
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                pass

    async def _relocate(self) -> bool:
        """Look for the realm again; False when a drain came first."""
        assert self._locate is not None
        log.info("realm at %s does not answer; looking for it on the local network", self.settings.realm)
        finding = asyncio.ensure_future(self._locate())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({finding, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not finding.done():
            finding.cancel()
            await asyncio.gather(finding, return_exceptions=True)
            return False
        self.settings.realm = finding.result()
        self._realm_gone = False
        return True

    # ---------------------------------------------------------- connection --

    async def _connect_once(self, backoff: Backoff) -> None:
        """One stream, from hello to its end; logs why it ended."""
        target = self.settings.realm
        channel = self._channel_factory(target)
        try:
            devices = await self._devices.refresh()
            call = worker_link_pb2_grpc.WorkerLinkStub(channel).Connect(metadata=self._metadata)
            link = _Link(call)
            try:
                link.send(worker_link_pb2.WorkerMessage(hello=self._hello(devices)))
                welcome = await self._await_welcome(call, backoff)
                if welcome is not None:
                    link.takes_batches = welcome.takes_batches
                    backoff.reset()
                    await self._session(call, link, welcome)
            finally:
                link.abandon()
                await self._abandon_running()
                link.writer.cancel()
                await asyncio.gather(link.writer, return_exceptions=True)
                call.cancel()
        except Exception:
            log.exception("connection to realm at %s failed unexpectedly", target)
        finally:
            self.worker_id = ""
            await channel.close(grace=None)

    def _hello(self, devices: list[DeviceInfo]) -> worker_link_pb2.WorkerHello:
        return worker_link_pb2.WorkerHello(
            name=self.settings.name,
            capabilities=merge_capabilities(self._serving),
            max_concurrency=self.settings.max_concurrency,
            devices=[d.to_proto() for d in devices],
            version=VERSION,
            protocol=PROTOCOL,
            takes_batches=True,
        )

    async def _await_welcome(self, call: grpc.aio.StreamStreamCall,
                             backoff: Backoff) -> worker_link_pb2.Welcome | None:
        """The realm's answer to hello, or None (logged) when it refused or is unreachable."""
        target = self.settings.realm
        reading = asyncio.ensure_future(call.read())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait({reading, stopping}, timeout=WELCOME_TIMEOUT_S,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if reading not in done:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            if not self._draining:
                self._failure(f"realm at {target} sent no welcome within {WELCOME_TIMEOUT_S:g} s")
            return None
        try:
            message = reading.result()
        except grpc.aio.AioRpcError as e:
            if e.code() in REFUSALS:
                backoff.penalize()
                log.error("realm at %s refused this worker: %s: %s (retrying every %g s)",
                          target, e.code().name, e.details(), backoff.max_s)
                self._last_failure = ""
            else:
                self._failure(f"realm at {target} unavailable: {e.code().name}: {e.details()}")
            return None
        if message is grpc.aio.EOF:
            self._failure(f"realm at {target} closed the stream without a welcome ({await _status(call)})")
            return None
        if message.WhichOneof("message") != "welcome":
            backoff.penalize()
            log.error("realm at %s sent %s before welcome; protocol mismatch?",
                      target, message.WhichOneof("message"))
            return None
        return message.welcome

    def _failure(self, what: str) -> None:
        """The realm is not there (unreachable, silent): log it loudly once, then quietly while it repeats,
        and look for it again before the next attempt when it was found by discovery."""
        self._realm_gone = True
        level = logging.DEBUG if what == self._last_failure else logging.WARNING
        log.log(level, "%s; retrying", what)
        self._last_failure = what

    async def _session(self, call: grpc.aio.StreamStreamCall, link: _Link,
                       welcome: worker_link_pb2.Welcome) -> None:
        """Serve a welcomed stream until it breaks or a drain completes."""
        self._last_failure = ""
        self.worker_id, self.realm_name = welcome.worker_id, welcome.realm
        interval = welcome.heartbeat_interval_s if welcome.heartbeat_interval_s > 0 else DEFAULT_HEARTBEAT_S
        interval = max(interval, MIN_HEARTBEAT_S)
        log.info("connected to realm %r at %s as %r (worker id %s, heartbeat every %g s)",
                 welcome.realm, self.settings.realm, self.settings.name, welcome.worker_id, interval)
        beating = asyncio.create_task(self._heartbeats(link, interval), name="mtor-worker-heartbeat")
        reading = asyncio.create_task(self._read(call, link), name="mtor-worker-reader")
        draining = asyncio.create_task(self._drain_when_stopped(link), name="mtor-worker-drain")
        try:
            await asyncio.wait({reading, draining}, return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                log.warning("disconnected from realm %r: %s%s", welcome.realm, reading.result(),
                            f"; cancelling {len(self._running)} running assignment(s)" if self._running else "")
                return
            # Drained and half-closed: give the realm a moment to end the call.
            grace = 0.5 if self._forced else CLOSE_GRACE_S
            try:
                reason = await asyncio.wait_for(asyncio.shield(reading), grace)
            except TimeoutError:
                reason = f"realm did not end the stream within {grace:g} s"
            log.info("%s; disconnected from realm %r (%s)", "stopped" if self._forced else "drained",
                     welcome.realm, reason)
        finally:
            for task in (beating, reading, draining):
                task.cancel()
            await asyncio.gather(beating, reading, draining, return_exceptions=True)

    async def _read(self, call: grpc.aio.StreamStreamCall, link: _Link) -> str:
        """Dispatch realm messages until the stream ends; returns why it ended."""
        while True:
            try:
                message = await call.read()
            except grpc.aio.AioRpcError as e:
                return f"{e.code().name}: {e.details()}"
            if message is grpc.aio.EOF:
                return f"realm ended the stream ({await _status(call)})"
            which = message.WhichOneof("message")
            if which == "assign":
                self._on_assign(message.assign, link)
            elif which == "assigns":
                for assignment in message.assigns.assignments:
                    self._on_assign(assignment, link)
            elif which == "cancel":
                self._on_cancel(message.cancel)
            else:
                log.warning("ignoring unexpected %s from the realm", which)

    async def _heartbeats(self, link: _Link, interval: float) -> None:
        """A heartbeat as soon as what it says changes, and at least every `interval`: the realm pings the
        connection itself, so an unchanged worker costs it one message per interval, not a stream of them."""
        self._said = None
        while True:
            beat = self._heartbeat()
            if heartbeat_due(beat, self._said, time.monotonic() - self._said_at, interval):
                self._send_heartbeat(link, beat)
            await asyncio.sleep(min(interval, CHANGE_CHECK_S))

    def _send_heartbeat(self, link: _Link, beat: worker_link_pb2.Heartbeat) -> None:
        link.send(worker_link_pb2.WorkerMessage(heartbeat=beat))
        self._said, self._said_at = heartbeat_gist(beat), time.monotonic()

    def _heartbeat(self) -> worker_link_pb2.Heartbeat:
        problems = []
        for backend in self._serving:
            try:
                ok, why = backend.healthy()
            except Exception as e:
                ok, why = False, f"health check crashed: {e}"
            if not ok:
                problems.append(f"{backend.name}: {why or 'unhealthy'}")
        return worker_link_pb2.Heartbeat(
            running=len(self._running), healthy=not problems, draining=self._draining,
            devices=[d.to_proto() for d in self._devices.current()], detail="; ".join(problems))

    async def _drain_when_stopped(self, link: _Link) -> None:
        """On drain: announce it, wait for running work, flush and half-close."""
        await self._stop.wait()
        self._send_heartbeat(link, self._heartbeat())
        await self._idle.wait()
        link.close_writing()
        await link.writer

    # --------------------------------------------------------- assignments --

    def _on_assign(self, assignment: worker_link_pb2.Assignment, link: _Link) -> None:
        aid = assignment.assignment_id
        if aid in self._running:
            log.warning("assignment %s is already running; duplicate ignored", aid)
            return
        if self._draining:
            link.send(_update(aid, failed=error(grpc.StatusCode.UNAVAILABLE, "worker is draining")))
            return
        if len(self._running) >= self.settings.max_concurrency:
            link.send(_update(aid, failed=error(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"worker already runs its maximum of {self.settings.max_concurrency} assignments")))
            return
        kind = kinds.kind_of(assignment.intent)
        if kind is None:
            link.send(_update(aid, failed=error(grpc.StatusCode.INVALID_ARGUMENT, "intent has no payload")))
            return
        chosen = select_backend(self._serving, kind, assignment.intent.model)
        if isinstance(chosen, intent_pb2.Error):
            link.send(_update(aid, failed=chosen))
            return
        timeout_s = assignment.timeout_s
        job = Job(request=assignment.intent, kind=kind, model=assignment.intent.model,
                  deadline=time.monotonic() + timeout_s if timeout_s > 0 else None,
                  assignment_id=aid, intent_id=assignment.intent_id,
                  on_delta=lambda delta: link.send(_update(aid, delta=delta)))
        running = _Running(assignment=assignment, job=job, backend=chosen, link=link)
        running.task = asyncio.create_task(self._serve_assignment(running), name=f"mtor-assignment-{aid}")
        running.task.add_done_callback(lambda task: self._assignment_done(running, task))
        self._running[aid] = running
        self._idle.clear()
        log.debug("assignment %s started: intent %s, %s, model %r, backend %s, timeout %g s",
                  aid, assignment.intent_id, kind, assignment.intent.model, chosen.name, timeout_s)

    async def _serve_assignment(self, running: _Running) -> None:
        outcome = await execute(running.backend, running.job, running.assignment.timeout_s)
        self._finish(running, outcome)

    def _assignment_done(self, running: _Running, task: asyncio.Task[None]) -> None:
        """Safety net: a task cancelled before it started, or a bug, still gets its one answer."""
        if running.finished:
            return
        if task.cancelled():
            self._finish(running, error(grpc.StatusCode.CANCELLED, "cancelled"))
        else:
            exc = task.exception()
            log.error("assignment %s failed in the runtime: %r", running.assignment.assignment_id, exc)
            self._finish(running, error(grpc.StatusCode.INTERNAL, f"worker runtime: {exc!r}"))

    def _finish(self, running: _Running, outcome: Outcome) -> None:
        """Send the one terminal update and forget the assignment."""
        if running.finished:
            return
        running.finished = True
        running.job.close()
        aid = running.assignment.assignment_id
        if isinstance(outcome, intent_pb2.Error):
            if outcome.code == grpc.StatusCode.CANCELLED.value[0] and running.cancel_reason:
                outcome.message = f"cancelled: {running.cancel_reason}"
            running.link.send(_update(aid, failed=outcome))
        else:
            running.link.send(_update(aid, result=outcome))
        if self._running.get(aid) is running:
            del self._running[aid]
        if not self._running:
            self._idle.set()
        log.debug("assignment %s ended after %.3f s: %s", aid, time.monotonic() - running.started,
                  _describe(outcome))

    def _on_cancel(self, cancel: worker_link_pb2.CancelAssignment) -> None:
        running = self._running.get(cancel.assignment_id)
        if running is None:
            log.debug("cancel for assignment %s, which is not running (already answered?)",
                      cancel.assignment_id)
            return
        self._cancel(running, cancel.reason or "cancelled by the realm")

    def _cancel(self, running: _Running, reason: str) -> None:
        if running.finished or running.cancel_reason:
            return
        running.cancel_reason = reason
        running.job.cancelled.set()
        if running.task is not None:
            running.task.cancel()

    async def _abandon_running(self) -> None:
        """The stream is gone: stop everything it carried; answers go nowhere."""
        tasks = [r.task for r in self._running.values() if r.task is not None]
        for running in list(self._running.values()):
            self._cancel(running, "connection to the realm lost")
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def run_worker(cfg: Config, *, join_token: str = "", channel_factory: ChannelFactory | None = None) -> int:
    """Create the configured backends and run a Worker until it is drained.

    Without `channel_factory`, the channel follows the [tls] settings. Raises
    ValueError (ConfigError) for an unknown backend name or a TLS setting that
    cannot be used, before anything starts.
    """
    tls = client_tls(cfg.tls)
    locate = None
    if not cfg.worker.realm.strip():  # no realm given: find one on the local network (or at a seed)
        from mtor_common.discovery import find_realm

        wanted = cfg.worker.realm_name

        async def locate() -> str:
            nonlocal wanted
            found = await find_realm(wanted, cfg.discovery.interfaces, cfg.discovery.browse_s, cfg.discovery.seeds,
                                     tls)
            wanted = wanted or found.name  # from now on: this realm, or another of its name, wherever it is
            log.info("joining realm %r at %s", found.name, found.target)
            return found.target

        cfg.worker.realm = await locate()
    if channel_factory is None:
        _, secure = split_target(cfg.worker.realm, tls)  # a grpc:// realm with TLS set: say so now, once
        if secure:
            log.info("reaching the realm over TLS%s", " with a client certificate" if tls and tls.cert else "")
        channel_factory = realm_channels(tls)
    backends = [create_backend(name, cfg) for name in resolve_backends(cfg.worker.backends, cfg)]
    if not backends:
        raise ValueError("no backends configured")
    worker = Worker(cfg.worker, backends, join_token=join_token, channel_factory=channel_factory, locate=locate)
    if not cfg.discovery.advertise:
        return await worker.run()
    announcing = asyncio.create_task(_announce(cfg, worker), name="mtor-worker-announce")
    try:
        return await worker.run()
    finally:
        announcing.cancel()
        await asyncio.gather(announcing, return_exceptions=True)


def worker_txt(worker: Worker) -> dict[str, str]:
    """What the worker's announcement says: name, kinds, models, device and VRAM (no secrets)."""
    caps = merge_capabilities(worker._serving)
    devices = worker._devices.current()
    gpu = [d for d in devices if d.vram_total_bytes]
    return {"name": worker.settings.name, "kinds": ",".join(sorted(kinds.name_of(c.kind) for c in caps)),
            "models": ",".join(sorted({m for c in caps for m in c.models})),
            "device": ",".join(d.name for d in (gpu or devices)) or "cpu",
            "vram_mb": str(sum(d.vram_total_bytes for d in gpu) // (1024 * 1024)),
            "realm": worker.realm_name or "", "version": VERSION, "protocol": str(PROTOCOL)}


async def _announce(cfg: Config, worker: Worker) -> None:
    """Announce the worker (`_mtor-worker._tcp.local.`) once it serves, until it stops (goodbye then).
    A worker of a loopback realm is announced on loopback only."""
    import uuid

    from mtor_common.discovery import WORKER_TYPE, Advertiser
    from mtor_common.discovery.where import where_to_announce

    await worker.ready.wait()
    loopback = is_loopback(host_of(split_target(cfg.worker.realm, None)[0]))
    advertiser = None
    try:
        where = where_to_announce("127.0.0.1" if loopback else "0.0.0.0", cfg.discovery.interfaces)
        if where is None:
            return
        try:
            await worker._devices.refresh()
            txt = worker_txt(worker)
            advertiser = await Advertiser.start(WORKER_TYPE, worker.settings.name, uuid.uuid4().hex, 0, where[0],
                                                txt, where[1])
        except Exception as e:
            log.warning("could not announce the worker on the local network: %s", e)
            return
        log.info("announced on the local network as %r (%s)", advertiser.instance, advertiser.where)
        while True:  # the realm it serves can change (reconnections)
            if worker_txt(worker) != txt:
                txt = worker_txt(worker)
                try:
                    await advertiser.update(txt)
                except Exception as e:
                    log.warning("could not update the announcement: %s", e)
            await asyncio.sleep(2.0)
    finally:
        if advertiser is not None:
            await advertiser.stop()


def heartbeat_due(beat: worker_link_pb2.Heartbeat, said: tuple | None, since_s: float, interval: float) -> bool:
    """Whether `beat` goes out now: news (its gist differs from the last one said), or the interval is over (a
    shorter one while unhealthy)."""
    every = interval if beat.healthy else min(interval, UNHEALTHY_EVERY_S)
    return heartbeat_gist(beat) != said or since_s >= every


def heartbeat_gist(beat: worker_link_pb2.Heartbeat) -> tuple:
    """What of a heartbeat the realm acts on; a change in it is sent at once (the running count is not: the realm
    keeps that itself)."""
    return (beat.healthy, beat.detail, beat.draining,
            tuple((d.type, d.name, d.vram_total_bytes, d.vram_free_bytes // VRAM_STEP_BYTES) for d in beat.devices))
