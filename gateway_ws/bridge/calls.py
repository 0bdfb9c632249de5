"""One call of a socket, from its call frame to its one end frame."""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

import grpc
from google.protobuf.message import Message
from mtor_client._proto.mtor.v1 import intents_pb2, intents_pb2_grpc
from mtor_client.errors import retry_after_s

from ..link import RealmLink
from . import frames
from .frames import CallId
from .methods import Method, to_json
from .outbox import Lane

log = logging.getLogger("mtor.gateway")

CANCEL_TIMEOUT_S = 10.0
TERMINAL = frozenset({"result", "failed"})


class OpenCall:
    """Runs its gRPC call in a task of its own; replies go to its lane, so a full lane pauses the reading."""

    def __init__(self, call_id: CallId, method: Method, request: Message, token: str | None, link: RealmLink,
                 lane: Lane, on_done: Callable[[CallId], object]) -> None:
        self.id = call_id
        self.method = method
        self.token = token
        """The caller's token when the call started: a later auth frame does not change it."""
        self.intent_id = ""
        """Of the intent it follows, once the first event named it."""
        self._request = request
        self._link = link
        self._lane = lane
        self._on_done = on_done
        self._intent_over = False
        self._cancel_intent = False
        self._intent_cancel: asyncio.Task[None] | None = None
        self._stopped: tuple[grpc.StatusCode, str] | None = None
        self._calling = True
        self.task = asyncio.create_task(self._run(), name=f"mtor bridge call {call_id}")

    def cancel(self) -> None:
        """The caller's cancel frame: the gRPC call ends now, with end CANCELLED."""
        self._stop(grpc.StatusCode.CANCELLED, "cancelled by the caller")

    def cancel_intent(self) -> None:
        """Cancel the intent the call follows, in the realm, as soon as its id is known. The call goes on to the
        intent's terminal event, so the caller learns how it really ended (it may have finished first)."""
        self._cancel_intent = True
        self._send_intent_cancel()

    def abandon(self) -> None:
        """The socket closed: nothing more is sent; an intent this call submitted is cancelled (then the call ends
        with its terminal event); any other call is cancelled now."""
        self._lane.drop()
        if self.method.creates_intent and not self._intent_over and self._calling:
            self.cancel_intent()
        else:
            self.task.cancel()

    def _stop(self, code: grpc.StatusCode, detail: str) -> None:
        if self._calling and self._stopped is None:
            self._stopped = (code, detail)
            self.task.cancel()

    def _send_intent_cancel(self) -> None:
        if self._cancel_intent and self.intent_id and not self._intent_over and self._intent_cancel is None:
            self._intent_cancel = asyncio.create_task(self._cancel_in_realm())

    async def _cancel_in_realm(self) -> None:
        """Intents/Cancel with the call's own token: the realm decides whether this caller may."""
        stub = intents_pb2_grpc.IntentsStub(self._link.channel)
        try:
            await stub.Cancel(intents_pb2.CancelRequest(intent_id=self.intent_id),
                              metadata=RealmLink.metadata(self.token), timeout=CANCEL_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            self._stop(e.code(), f"cancelling intent {self.intent_id}: {e.details()}")

    async def _run(self) -> None:
        try:
            try:
                end = await self._call()
            except asyncio.CancelledError:
                if self._stopped is None:  # the socket closed: no end frame for anyone to read
                    raise
                asyncio.current_task().uncancel()
                end = frames.end(self.id, *self._stopped)
            except grpc.aio.AioRpcError as e:
                end = frames.end(self.id, e.code(), e.details() or "", retry_after_s(e.trailing_metadata()))
            except Exception:
                log.exception("bridge call %s (%s) failed", self.id, self.method.name)
                end = frames.end(self.id, grpc.StatusCode.INTERNAL, "the gateway failed on this call")
            finally:
                self._calling = False
                self._on_done(self.id)  # the id is free before its end frame can reach the caller
            await self._lane.put(end)
        finally:
            if self._intent_cancel is not None:
                await asyncio.gather(self._intent_cancel, return_exceptions=True)

    async def _call(self) -> dict:
        rpc = self.method.rpc(self._link.channel)
        metadata = RealmLink.metadata(self.token)
        if self.method.streaming:
            async for reply in rpc(self._request, metadata=metadata):
                await self._reply(reply)
        else:
            await self._reply(await rpc(self._request, metadata=metadata))
        return frames.end(self.id, grpc.StatusCode.OK)

    async def _reply(self, reply: Message) -> None:
        if self.method.follows_intent:
            self.intent_id = self.intent_id or reply.intent_id
            self._intent_over = self._intent_over or reply.WhichOneof("event") in TERMINAL
            self._send_intent_cancel()
        await self._lane.put(frames.message(self.id, to_json(reply)))
