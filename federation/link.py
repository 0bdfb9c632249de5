"""The calling side of a peer link: Hello, then the peer's capacity reports (its heartbeats, which make it
a PeerWorker the scheduler routes to), and one Forward call per intent forwarded there."""
from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from typing import Callable

import grpc
from mtor_client import TLS
from mtor_client._proto.mtor.v1 import federation_pb2, federation_pb2_grpc, intent_pb2
from mtor_client.channels import aio_channel, resolve
from mtor_client.kinds import kind_of

from mtor_common.backoff import Backoff
from mtor_server.discovery.network import NetworkView
from mtor_server.lifecycle import CANCELLED, FAILED, SUCCEEDED
from mtor_server.scheduler.dispatcher import Dispatcher
from mtor_server.scheduler.executor import Assignment, Done, Failure, Progress, TakenBy
from mtor_server.scheduler.registry import Registry
from mtor_server.store import log_failure

from . import PROTOCOL
from .book import Peer, PeerBook
from .peer_worker import Cancel, PeerWorker
from .usage import UsageBook

log = logging.getLogger("mtor.federation")
HELLO_TIMEOUT_S = 5.0
FORWARD_GRACE_S = 5.0
"""A forward's call deadline is the attempt's limit plus this: the peer's own timeout ends it first."""
REFUSALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION)


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    REFUSED = "refused"


class Refused(Exception):
    """The peer is not who this realm expects, or speaks another protocol."""


class NotSeen(Exception):
    """A peer trusted without an address is not (yet) seen on the local network or at a seed."""


class PeerLink:
    """Keeps the link to one peer up while this realm runs, reconnecting with backoff."""

    def __init__(self, peer: Peer, *, own: Callable[[], federation_pb2.FederationHello], registry: Registry,
                 dispatcher: Dispatcher, network: NetworkView, report_interval_s: float, book: PeerBook,
                 usage: UsageBook, tls: TLS | None) -> None:
        """`own`: this realm's Hello, as it is now."""
        self.peer, self.own, self.registry, self.dispatcher, self.network = peer, own, registry, dispatcher, network
        self.report_interval_s, self.book, self.usage, self.tls = report_interval_s, book, usage, tls
        self.state = LinkState.CONNECTING
        self.detail = ""
        self.rtt_ms = 0.0
        self.worker: PeerWorker | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"peer-{self.peer.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        backoff = Backoff(initial_s=0.2, max_s=5.0)
        while True:
            try:
                address = await self._address()
            except NotSeen as e:
                self._down(LinkState.DOWN, str(e))
                await asyncio.sleep(backoff.next_delay())
                continue
            endpoint = resolve(address, self.peer.token, None, self.tls)
            channel = aio_channel(endpoint)
            try:
                reason = await self._connect(federation_pb2_grpc.FederationStub(channel), endpoint.metadata,
                                             backoff)
            except Refused as e:
                self._down(LinkState.REFUSED, str(e))
                backoff.penalize()
            except grpc.RpcError as e:
                state = LinkState.REFUSED if e.code() in REFUSALS else LinkState.DOWN
                self._down(state, f"{e.code().name}: {e.details()}")
                if state is LinkState.REFUSED:
                    backoff.penalize()
            except asyncio.CancelledError:
                self._down(LinkState.DOWN, "the link was closed")
                raise
            except Exception as e:  # anything else ends this attempt, never the link
                self._down(LinkState.DOWN, f"{type(e).__name__}: {e}")
            else:
                self._down(LinkState.DOWN, reason)
            finally:
                await channel.close()
            await asyncio.sleep(backoff.next_delay())

    async def _address(self) -> str:
        """Where to call the peer: its address as the sysop gave it, else where the network shows it (the
        realm with its id once known, else with its name): a discovered realm is called only once trusted."""
        if self.peer.address:
            return self.peer.address
        for found in await self.network.other_realms():
            if (found.txt.get("id") == self.peer.realm_id) if self.peer.realm_id else found.name == self.peer.name:
                return ("grpcs://" if found.txt.get("tls") == "on" else "") + found.address
        raise NotSeen(f"realm {self.peer.name!r} is not seen on the local network or at a seed (mtor admin "
                      "network); give its address (mtor admin peer add NAME --address) where multicast does not "
                      "reach")

    def _down(self, state: LinkState, detail: str) -> None:
        if self.state is not state or self.detail != detail:
            log.log(logging.INFO if state is LinkState.DOWN and self.worker is None else logging.WARNING,
                    "peer realm %s %s: %s", self.peer.name, state.value, detail)
        self.state, self.detail = state, detail
        if self.worker is not None:
            self.registry.lost(self.worker, detail)
            self.worker = None

    async def _connect(self, stub: federation_pb2_grpc.FederationStub, metadata: tuple, backoff: Backoff) -> str:
        """Hello, then take reports until the stream ends; returns why it ended."""
        t0 = time.perf_counter()
        own = self.own()
        hello = await stub.Hello(own, metadata=metadata, timeout=HELLO_TIMEOUT_S)
        self.rtt_ms = (time.perf_counter() - t0) * 1000
        if hello.protocol != PROTOCOL:
            raise Refused(f"it speaks federation protocol {hello.protocol}; this realm speaks {PROTOCOL}")
        if hello.realm_id == own.realm_id:
            raise Refused("its address leads back to this realm")
        if self.peer.realm_id and hello.realm_id != self.peer.realm_id:
            raise Refused(f"it is realm {hello.realm_id}, not {self.peer.realm_id} as at its first Hello (a new "
                          "data dir, or another realm at that address): `mtor admin peer remove` and add it again "
                          "if this is expected")
        if not self.peer.realm_id:
            self.peer = await self.book.learned_id(self.peer.name, hello.realm_id)
        interval = self.report_interval_s
        reports = stub.WatchCapacity(federation_pb2.WatchCapacityRequest(interval_s=interval), metadata=metadata)
        forwarder: asyncio.Task[None] | None = None
        try:
            async for report in reports:
                if forwarder is not None and forwarder.done():  # the realm dropped the peer: its reports were late
                    return "its reports came too late"
                if self.worker is None:
                    self.worker = PeerWorker(id=uuid.uuid4().hex, name=self.peer.name, capabilities={},
                                             max_concurrency=0, last_heartbeat=time.monotonic(),
                                             realm_id=hello.realm_id, rtt_ms=self.rtt_ms)
                    self.worker.take_report(report)
                    forwarder = asyncio.create_task(self._forwarder(self.worker, stub, metadata))
                    self.state, self.detail = LinkState.UP, ""
                    backoff.reset()
                    self.registry.peer_up(self.worker)
                else:
                    self.worker.take_report(report)
                    self.registry.peer_report(self.worker, report.healthy)
            return "it ended its capacity stream"
        finally:
            reports.cancel()
            if forwarder is not None:
                forwarder.cancel()

    async def _forwarder(self, peer: PeerWorker, stub: federation_pb2_grpc.FederationStub, metadata: tuple) -> None:
        """Carry out what the realm sends the peer: assignments become Forward calls, cancels end them."""
        calls: dict[str, asyncio.Task[None]] = {}
        try:
            while (job := await peer.jobs.get()) is not None:
                if isinstance(job, Assignment):
                    task = asyncio.create_task(self._forward(peer, stub, metadata, job))
                    calls[job.assignment_id] = task
                    task.add_done_callback(lambda _, a=job.assignment_id: calls.pop(a, None))
                elif isinstance(job, Cancel) and (call := calls.get(job.assignment_id)) is not None:
                    call.cancel()
        finally:
            for call in calls.values():
                call.cancel()

    async def _forward(self, peer: PeerWorker, stub: federation_pb2_grpc.FederationStub, metadata: tuple,
                       assignment: Assignment) -> None:
        route = self.dispatcher.forward_route(assignment.intent_id)
        if route is None:  # cancelled before the forward began
            self._failed(peer, assignment, "", grpc.StatusCode.CANCELLED.value[0], "cancelled")
            return
        visited, hops_left, origin_user = route
        kind = kind_of(assignment.request) or ""
        counted = peer.forwarded(kind)
        try:
            await self._forward_call(peer, stub, metadata, assignment, visited, hops_left, origin_user)
        finally:
            peer.forward_ended(kind, counted)

    async def _forward_call(self, peer: PeerWorker, stub: federation_pb2_grpc.FederationStub, metadata: tuple,
                            assignment: Assignment, visited: list[str], hops_left: int,
                            origin_user: str) -> None:
        aid = assignment.assignment_id
        call = stub.Forward(federation_pb2.ForwardRequest(
            intent=assignment.request, visited=visited, hops_left=max(0, hops_left),
            origin_intent_id=assignment.intent_id, origin_user=origin_user),
            metadata=metadata, timeout=assignment.timeout_s + FORWARD_GRACE_S)
        there = ""  # the peer's id of the intent, once it accepted it
        try:
            async for event in call:
                which = event.WhichOneof("event")
                if which == "accepted":
                    there = event.accepted.intent_id
                elif which == "started":
                    self.dispatcher.on_update(peer, aid, TakenBy(event.started.worker, event.started.realm))
                elif which == "delta":
                    self.dispatcher.on_update(peer, aid, Progress(event.delta))
                elif which == "result":
                    usage = event.result.usage
                    # queued before the realm's own writes of the outcome, so committed with or before them, and
                    # before the terminal event goes out (the store commits in order)
                    self._record(aid, assignment.intent_id, there, SUCCEEDED, usage.processing_s, usage.cost)
                    self.dispatcher.on_update(peer, aid, Done(event.result))
                    return
                elif which == "failed":
                    self._failed(peer, assignment, there, event.failed.code, event.failed.message)
                    return
            error = (grpc.StatusCode.UNAVAILABLE.value[0], "it ended the forward without an outcome")
        except asyncio.CancelledError:
            call.cancel()  # the serving realm cancels its intent
            self._failed(peer, assignment, there, grpc.StatusCode.CANCELLED.value[0], "cancelled")
            raise
        except grpc.RpcError as e:
            if e.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                error = (e.code().value[0], "it did not finish in time")
            elif not there:  # refused before it accepted: worth trying elsewhere
                error = (grpc.StatusCode.UNAVAILABLE.value[0], f"refused: {e.code().name}: {e.details()}")
            else:
                error = (grpc.StatusCode.UNAVAILABLE.value[0], f"the link broke: {e.code().name}")
        self._failed(peer, assignment, there, *error)

    def _failed(self, peer: PeerWorker, assignment: Assignment, there: str, code: int,
                message: str) -> None:
        if there:
            outcome = CANCELLED if code == grpc.StatusCode.CANCELLED.value[0] else FAILED
            self._record(assignment.assignment_id, assignment.intent_id, there, outcome, 0.0, 0.0)
        self.dispatcher.on_update(peer, assignment.assignment_id, Failure(intent_pb2.Error(code=code, message=message)))

    def _record(self, attempt: str, intent_id: str, there: str, outcome: int, processing_s: float,
                cost: float) -> None:
        log_failure(self.usage.record(attempt, intent_id, self.peer.name, there, outcome, processing_s, cost,
                                      time.time()))
