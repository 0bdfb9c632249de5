"""One WebSocket: its frames read in order, its calls multiplexed by the caller's ids, one writer."""
from __future__ import annotations

import asyncio
import logging

import grpc
from starlette.websockets import WebSocket

from mtor_common.config import GatewaySection

from ..link import RealmLink
from . import frames
from .calls import OpenCall
from .frames import Auth, Call, CallId, Cancel, FrameError
from .methods import MethodError, find
from .outbox import Outbox

log = logging.getLogger("mtor.gateway")

ABANDON_WAIT_S = 5.0
"""How long a closed socket's Submit calls get to learn their intent's id and cancel it in the realm."""
BINARY = "binary frames are not part of the protocol: send JSON text frames (bytes fields as base64 strings)"


class Session:
    def __init__(self, ws: WebSocket, cfg: GatewaySection, link: RealmLink, token: str | None) -> None:
        self.ws = ws
        self.cfg = cfg
        self.link = link
        self.token = token
        """For calls started from now on (an auth frame replaces it)."""
        self.calls: dict[CallId, OpenCall] = {}
        self.outbox = Outbox()
        self.errors = self.outbox.lane(cfg.call_queue_depth)
        """The socket's own error frames: a caller sending bad frames faster than it reads is read more slowly."""

    async def serve(self) -> None:
        """Until the socket closes; then every call still open on it is abandoned."""
        writer = asyncio.create_task(self._write())
        try:
            while (text := await self._next_text()) is not None:
                try:
                    self._on(frames.parse(text))
                except FrameError as e:
                    await self.errors.put(frames.error(e.call_id, e.code, e.message))
                except Exception:  # a gateway bug: this frame fails, the socket and its calls go on
                    log.exception("bridge frame failed")
                    await self.errors.put(frames.error(None, grpc.StatusCode.INTERNAL, "the gateway failed on this "
                                                       "frame"))
        finally:
            writer.cancel()
            await self._close()

    async def _write(self) -> None:
        try:
            await self.outbox.run(self.ws.send_text)
        except Exception as e:  # the socket went away under the writer: the reader sees it close
            log.debug("bridge socket writer stopped: %r", e)

    async def _next_text(self) -> str | None:
        """The next text frame; None once the socket closed."""
        while True:
            received = await self.ws.receive()
            if received["type"] == "websocket.disconnect":
                return None
            if received.get("text") is not None:
                return received["text"]
            await self.errors.put(frames.error(None, grpc.StatusCode.INVALID_ARGUMENT, BINARY))

    def _on(self, frame: frames.Frame) -> None:
        if isinstance(frame, Auth):
            self.token = frame.token
        elif isinstance(frame, Cancel):
            self._cancel(frame)
        elif isinstance(frame, Call):
            self._start(frame)

    def _start(self, frame: Call) -> None:
        if frame.id in self.calls:
            raise FrameError(frame.id, f"id {frame.id!r} is in use by an open call; pick another",
                             grpc.StatusCode.ALREADY_EXISTS)
        if len(self.calls) >= self.cfg.max_calls_per_socket:
            raise FrameError(frame.id, f"{len(self.calls)} calls are open on this socket, the most it may have "
                             "(gateway.max_calls_per_socket); wait for one to end", grpc.StatusCode.RESOURCE_EXHAUSTED)
        try:
            method = find(frame.method)
            request = method.request(frame.request)
        except MethodError as e:
            raise FrameError(frame.id, str(e)) from None
        self.calls[frame.id] = OpenCall(frame.id, method, request, self.token, self.link,
                                        self.outbox.lane(self.cfg.call_queue_depth), self.calls.pop)

    def _cancel(self, frame: Cancel) -> None:
        call = self.calls.get(frame.id)
        if call is None:
            raise FrameError(frame.id, f"no call {frame.id!r} is open (it may have just ended)",
                             grpc.StatusCode.NOT_FOUND)
        if not frame.intent:
            call.cancel()
        elif call.method.follows_intent:
            call.cancel_intent()
        else:
            raise FrameError(frame.id, f"call {frame.id!r} ({call.method.name}) follows no intent; cancel it "
                             'without "intent"')

    async def _close(self) -> None:
        calls = list(self.calls.values())
        for call in calls:
            call.abandon()
        tasks = [call.task for call in calls]
        if tasks:
            await asyncio.wait(tasks, timeout=ABANDON_WAIT_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
