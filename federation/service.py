"""mtor.v1.Federation, the serving side: what a peer realm calls on this one."""
from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

import grpc
from mtor_client._proto.mtor.v1 import federation_pb2, federation_pb2_grpc, intent_pb2
from mtor_client.kinds import WORKER_KINDS, kind_of

from mtor_server import __version__
from mtor_server.auth import USER, Accounts, Caller
from mtor_server.changes import Changes
from mtor_server.describe import Describe
from mtor_server.errors import RealmError, invalid
from mtor_server.intents.book import IntentBook
from mtor_server.intents.intake import Intake
from mtor_server.records import is_terminal
from mtor_server.scheduler.dispatcher import Dispatcher
from mtor_server.scheduler.route import Route, peer_user
from mtor_server.services._status import streaming, unary

from . import PROTOCOL
from .book import Peer, PeerBook
from .capacity import Capacity

REPORT_MIN_GAP_S = 0.02
"""Reports on change come at most this often: a burst of intents makes one report, not hundreds."""


def hello_of(describe: Describe) -> federation_pb2.FederationHello:
    """How a realm introduces itself to a peer, calling or called."""
    return federation_pb2.FederationHello(realm_id=describe.id, name=describe.name, protocol=PROTOCOL,
                                          version=__version__, kinds=[k.kind for k in describe().kinds if k.workers])


class FederationService(federation_pb2_grpc.FederationServicer):
    def __init__(self, book: PeerBook, *, accounts: Accounts, describe: Describe, changes: Changes, intake: Intake,
                 intents: IntentBook, dispatcher: Dispatcher, capacity: Capacity) -> None:
        self.book, self.accounts, self.describe, self.changes = book, accounts, describe, changes
        self.intake, self.intents, self.dispatcher, self.capacity = intake, intents, dispatcher, capacity
        self.id, self.name = describe.id, describe.name
        self.closing = False
        """Set while the realm shuts down: reports say unhealthy, so peers stop forwarding."""

    def _peer(self, context: grpc.aio.ServicerContext) -> Peer:
        name = self.accounts.peer(context.invocation_metadata())
        peer = self.book.find(name)
        if peer is None:
            raise RealmError(grpc.StatusCode.UNAUTHENTICATED, f"peer realm {name!r} is no longer trusted here")
        return peer

    def hello(self) -> federation_pb2.FederationHello:
        return hello_of(self.describe)

    @unary
    async def Hello(self, request: federation_pb2.FederationHello,
                    context: grpc.aio.ServicerContext) -> federation_pb2.FederationHello:
        peer = self._peer(context)
        if request.protocol != PROTOCOL:
            raise RealmError(grpc.StatusCode.FAILED_PRECONDITION, f"realm {self.name} speaks federation "
                             f"protocol {PROTOCOL}; you speak {request.protocol}")
        if not request.realm_id:
            raise invalid("realm_id is empty")
        if peer.realm_id and request.realm_id != peer.realm_id:
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED,
                             f"the token of peer {peer.name} belongs to realm {peer.realm_id}, not {request.realm_id}")
        if not peer.realm_id:
            await self.book.learned_id(peer.name, request.realm_id)
        return self.hello()

    @streaming
    async def WatchCapacity(self, request: federation_pb2.WatchCapacityRequest,
                            context: grpc.aio.ServicerContext) -> AsyncIterator[federation_pb2.Capacity]:
        interval = min(10.0, max(0.1, request.interval_s or 1.0))
        changed = self.changes.watch()
        try:
            last, sent_at = b"", 0.0
            while True:
                peer = self._peer(context)  # removed, or its token revoked: the stream ends here
                report = self.capacity.report(peer, interval, not self.closing)
                data = report.SerializeToString()
                if data != last or time.monotonic() - sent_at >= interval * 0.9:
                    yield report
                    last, sent_at = data, time.monotonic()
                changed.clear()
                try:
                    await asyncio.wait_for(changed.wait(), max(0.0, interval - (time.monotonic() - sent_at)))
                except asyncio.TimeoutError:
                    pass
                await asyncio.sleep(REPORT_MIN_GAP_S)
        finally:
            self.changes.unwatch(changed)

    @streaming
    async def Forward(self, request: federation_pb2.ForwardRequest,
                      context: grpc.aio.ServicerContext) -> AsyncIterator[intent_pb2.IntentEvent]:
        peer = self._peer(context)
        kind = kind_of(request.intent)  # submit validates the rest
        if kind is not None and kind not in WORKER_KINDS:
            raise invalid(f"a {kind} intent is carried out by the realm it was submitted to, step by step; "
                          "forward its steps")
        if kind is not None and not peer.accepts(kind):
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED, f"realm {self.name} accepts no {kind} intents "
                             f"from peer {peer.name} (it accepts: {', '.join(sorted(peer.kinds))})")
        if self.id in request.visited:
            raise RealmError(grpc.StatusCode.FAILED_PRECONDITION, f"loop: the intent has already passed through "
                             f"realm {self.name}")
        intent = intent_pb2.IntentRequest()
        intent.CopyFrom(request.intent)
        intent.request_id = ""  # the origin realm keeps its user's idempotency; ids of two users could collide here
        route = Route(peer.name, (*request.visited, self.id), request.hops_left, request.origin_intent_id,
                      request.origin_user)
        remaining = context.time_remaining()
        deadline = time.time() + remaining if remaining is not None else None
        intent_id = await self.intake.submit(peer_user(peer.name), intent, deadline, route=route)
        done = False
        try:
            async for event in self.intents.follow(intent_id):
                done = is_terminal(event)
                yield event
        finally:
            if not done:  # the calling realm went away or cancelled: so does the work
                try:
                    await self.dispatcher.cancel_by(intent_id, Caller(peer_user(peer.name), USER),
                                                    f"cancelled by realm {peer.name}")
                except RealmError:  # purged meanwhile
                    pass

    @unary
    async def Cancel(self, request: federation_pb2.FederationCancelRequest,
                     context: grpc.aio.ServicerContext) -> federation_pb2.FederationCancelResponse:
        peer = self._peer(context)
        if not request.intent_id:
            raise invalid("intent_id is empty")
        state = await self.dispatcher.cancel_by(request.intent_id, Caller(peer_user(peer.name), USER),
                                                request.reason or f"cancelled by realm {peer.name}")
        return federation_pb2.FederationCancelResponse(state=state)
