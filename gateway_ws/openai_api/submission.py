"""One chat intent submitted for an HTTP caller: its events, and its cancellation when the caller leaves."""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc

from ..link import RealmLink
from .errors import ApiError, from_rpc

log = logging.getLogger("mtor.gateway.openai")
_CANCEL_TIMEOUT_S = 10.0
_background: set[asyncio.Task[None]] = set()
"""Cancel calls in flight: a task must be referenced until it ends, or it may be collected half done."""


class Submission:
    """A Submit call whose first event (`accepted`) has been read, so that a realm refusal (a bad request,
    a wrong token, a full queue) becomes the HTTP status before any byte of a streamed answer is sent."""

    def __init__(self, link: RealmLink, metadata: tuple[tuple[str, str], ...],
                 call: grpc.aio.UnaryStreamCall, accepted: intent_pb2.IntentEvent) -> None:
        self._link = link
        self._metadata = metadata
        self._call = call
        self.intent_id = accepted.intent_id
        self.accepted = accepted
        self.ended = False
        """Whether a terminal event (result or failed) has been read: nothing is left to cancel."""

    @classmethod
    async def open(cls, link: RealmLink, token: str | None, intent: intent_pb2.IntentRequest) -> "Submission":
        metadata = RealmLink.metadata(token)
        call = intents_pb2_grpc.IntentsStub(link.channel).Submit(intents_pb2.SubmitRequest(intent=intent),
                                                                 metadata=metadata)
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as e:
            raise from_rpc(e) from None
        if first is grpc.aio.EOF:  # the realm always sends `accepted` first; this is its contract broken
            raise ApiError(502, "the realm ended Submit without accepting the intent", type="server_error",
                           code="bad_gateway")
        return cls(link, metadata, call, first)

    async def events(self) -> AsyncIterator[intent_pb2.IntentEvent]:
        """The events after `accepted`, up to and including the terminal one; a broken call raises ApiError."""
        while not self.ended:
            try:  # read(), not iteration: the first event was read so, and gRPC forbids mixing the two
                event = await self._call.read()
            except grpc.aio.AioRpcError as e:
                raise from_rpc(e) from None
            if event is grpc.aio.EOF:
                return
            self.ended = event.WhichOneof("event") in ("result", "failed")
            yield event

    def abandon(self) -> None:
        """The caller left before the end: cancel the intent in the realm, as its caller (the same token).
        Run detached, because this is called while the streaming task is itself being cancelled."""
        if self.ended:
            return
        self.ended = True
        self._call.cancel()
        task = asyncio.get_running_loop().create_task(self._cancel())
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _cancel(self) -> None:
        try:
            await intents_pb2_grpc.IntentsStub(self._link.channel).Cancel(
                intents_pb2.CancelRequest(intent_id=self.intent_id), metadata=self._metadata,
                timeout=_CANCEL_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            log.warning("could not cancel intent %s after its caller left: %s %s", self.intent_id,
                        e.code().name, e.details())

