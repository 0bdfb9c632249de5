"""mtor.v1.WorkerLink: one bidirectional stream per worker."""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

import grpc
from mtor_client._proto.mtor.v1 import worker_link_pb2, worker_link_pb2_grpc

from ..errors import RealmError
from ..realm import Realm
from ..scheduler import ConnectedWorker

log = logging.getLogger("mtor.worker_link")
HELLO_TIMEOUT_S = 10.0


class WorkerLinkService(worker_link_pb2_grpc.WorkerLinkServicer):
    def __init__(self, realm: Realm) -> None:
        self.realm = realm

    async def Connect(self, request_iterator: AsyncIterator[worker_link_pb2.WorkerMessage],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[worker_link_pb2.RealmMessage]:
        try:
            self.realm.accounts.check_join(context.invocation_metadata())
        except RealmError as e:
            await context.abort(e.code, e.message)
        try:
            first = await asyncio.wait_for(anext(request_iterator), HELLO_TIMEOUT_S)
        except (StopAsyncIteration, asyncio.TimeoutError):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "send hello first")
        if first.WhichOneof("message") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be hello")
        try:
            worker = self.realm.worker_join(first.hello)
        except RealmError as e:
            await context.abort(e.code, e.message)
        reader = asyncio.create_task(self._read(worker, request_iterator))
        try:
            while (message := await worker.outbox.get()) is not None:
                yield message
        finally:
            reader.cancel()
            self.realm.worker_lost(worker, "stream closed")

    async def _read(self, worker: ConnectedWorker,
                    messages: AsyncIterator[worker_link_pb2.WorkerMessage]) -> None:
        reason = "stream closed by the worker"
        try:
            async for message in messages:
                which = message.WhichOneof("message")
                if which == "heartbeat":
                    self.realm.on_heartbeat(worker, message.heartbeat)
                elif which == "update":
                    self.realm.on_update(worker, message.update)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a broken stream: the worker is gone
            reason = f"stream broke: {e.__class__.__name__}"
        self.realm.worker_lost(worker, reason)
