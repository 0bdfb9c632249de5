"""mtor.v1.WorkerLink: one bidirectional stream per worker."""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

import grpc
from mtor_client._proto.mtor.v1 import worker_link_pb2, worker_link_pb2_grpc

from mtor_common.coalesce import coalesced, ready

from ..auth import Accounts
from ..discovery.network import NetworkView, peer_host
from ..errors import RealmError
from ..scheduler import ConnectedWorker
from ..scheduler.dispatcher import Dispatcher
from ..scheduler.executor import Done, Failure, Progress, Update
from ..scheduler.registry import Registry

log = logging.getLogger("mtor.worker_link")
HELLO_TIMEOUT_S = 10.0
REFUSED_HELLO_WAIT_S = 1.0
"""How long a worker refused for its join token is given to say its name (for the sysop's listing)."""
HALF_CLOSE_GRACE_S = 0.2
"""A stream whose worker stopped sending without a drain: this long for the call's own end (a broken or
silent connection ends both ways at once, and says more) before the realm calls it a half-close."""
CONNECTION_LOST = "its connection broke or stopped answering the realm's pings"


async def _name_in(messages: AsyncIterator[worker_link_pb2.WorkerMessage], wait_s: float) -> str:
    """The name in the stream's hello, if it comes at once; "" otherwise."""
    try:
        first = await asyncio.wait_for(anext(messages), wait_s)
    except (StopAsyncIteration, asyncio.TimeoutError, grpc.RpcError):
        return ""
    return first.hello.name if first.WhichOneof("message") == "hello" else ""


def update_of(update: worker_link_pb2.AssignmentUpdate) -> Update:
    """A worker's report on an assignment, in the realm's own terms."""
    which = update.WhichOneof("update")
    if which == "delta":
        return Progress(update.delta)
    if which == "result":
        return Done(update.result)
    if which == "failed":
        return Failure(update.failed)
    return None


def _assignment(message: worker_link_pb2.RealmMessage | None) -> worker_link_pb2.Assignment | None:
    return message.assign if message is not None and message.WhichOneof("message") == "assign" else None


def _assignments(run: list[worker_link_pb2.Assignment]) -> worker_link_pb2.RealmMessage:
    return worker_link_pb2.RealmMessage(assigns=worker_link_pb2.Assignments(assignments=run))


class WorkerLinkService(worker_link_pb2_grpc.WorkerLinkServicer):
    def __init__(self, accounts: Accounts, registry: Registry, dispatcher: Dispatcher, network: NetworkView) -> None:
        self.accounts, self.registry, self.dispatcher, self.network = accounts, registry, dispatcher, network

    async def Connect(self, request_iterator: AsyncIterator[worker_link_pb2.WorkerMessage],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[worker_link_pb2.RealmMessage]:
        address = peer_host(context.peer())
        try:
            self.accounts.check_join(context.invocation_metadata())
        except RealmError as e:
            await self._refuse(context, await _name_in(request_iterator, REFUSED_HELLO_WAIT_S), address, e)
        try:
            first = await asyncio.wait_for(anext(request_iterator), HELLO_TIMEOUT_S)
        except (StopAsyncIteration, asyncio.TimeoutError):
            await self._refuse(context, "", address, RealmError(grpc.StatusCode.INVALID_ARGUMENT, "send hello first"))
        if first.WhichOneof("message") != "hello":
            await self._refuse(context, "", address, RealmError(grpc.StatusCode.INVALID_ARGUMENT,
                                                                "the first message must be hello"))
        try:
            worker = self.registry.join(first.hello, address)
        except RealmError as e:
            await self._refuse(context, first.hello.name, address, e)
        reader = asyncio.create_task(self._read(worker, request_iterator))
        try:
            while True:
                messages = ready(await worker.outbox.get(), worker.outbox)
                for message in coalesced(messages, _assignment, _assignments) if worker.takes_batches else messages:
                    if message is None:
                        return
                    yield message
        except asyncio.CancelledError:  # the call ended under the realm: gRPC closed the connection, or the realm stops
            self.registry.lost(worker, "the realm is stopping" if self.registry.stopping else CONNECTION_LOST)
            raise
        finally:
            reader.cancel()
            self.registry.lost(worker, "stream closed")

    async def _refuse(self, context: grpc.aio.ServicerContext, name: str, address: str, error: RealmError) -> None:
        """End the stream with the error's status, remembered for Admin ListNetwork."""
        self.network.refused(name, address, f"{error.code.name}: {error.message}")
        await context.abort(error.code, error.message)

    async def _read(self, worker: ConnectedWorker,
                    messages: AsyncIterator[worker_link_pb2.WorkerMessage]) -> None:
        reason = "stream closed by the worker"
        try:
            async for message in messages:
                which = message.WhichOneof("message")
                if which == "heartbeat":
                    self.registry.heartbeat(worker, message.heartbeat)
                elif which == "update":
                    self.dispatcher.on_update(worker, message.update.assignment_id, update_of(message.update))
                elif which == "updates":
                    for update in message.updates.updates:
                        self.dispatcher.on_update(worker, update.assignment_id, update_of(update))
        except grpc.aio.AbortError:  # the guard refused one of its messages (services/_guard.py)
            reason = "it sent a message that does not decode or holds a number no field can use"
        except grpc.aio.BaseError as e:  # a broken stream: the worker is gone
            reason = f"stream broke: {e.__class__.__name__}"
        except Exception as e:  # the realm failed on what it sent: out it goes, the bug in the log
            log.exception("worker %s: the realm failed on one of its messages", worker.name)
            reason = f"the realm failed on one of its messages ({e.__class__.__name__})"
        else:
            if not worker.draining:  # a drain ends so; otherwise the call is likely ending too, and says why
                await asyncio.sleep(HALF_CLOSE_GRACE_S)
                reason = "it closed its stream without draining first"
        self.registry.lost(worker, reason)
