"""A socket's one writer and the bounded lanes that feed it: a call whose lane is full waits (and so stops reading
its gRPC stream) until the browser has read what it holds, so a slow browser cannot grow the gateway's memory."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from .frames import encode


class Lane:
    """One producer's frames (a call's, or the socket's own error frames), at most `depth` waiting to be sent."""

    def __init__(self, ready: asyncio.Queue[asyncio.Queue[str]], depth: int) -> None:
        self._ready = ready
        self._frames: asyncio.Queue[str] = asyncio.Queue(max(1, depth))
        self._dropped = False

    async def put(self, frame: dict[str, Any]) -> None:
        """Queue a frame, waiting while the lane is full; nothing once dropped (the socket is gone)."""
        if self._dropped:
            return
        await self._frames.put(encode(frame))
        self._ready.put_nowait(self._frames)  # one ready entry per frame: the writer always finds one

    def drop(self) -> None:
        """The socket is closed: forget what waits, and free a producer waiting for room."""
        self._dropped = True
        while not self._frames.empty():
            self._frames.get_nowait()


class Outbox:
    def __init__(self) -> None:
        self._ready: asyncio.Queue[asyncio.Queue[str]] = asyncio.Queue()
        """Lanes with a frame, in the order their frames were queued (bounded by the lanes' sizes)."""

    def lane(self, depth: int) -> Lane:
        return Lane(self._ready, depth)

    async def run(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send frames until cancelled or `send` fails (the socket closed)."""
        while True:
            frames = await self._ready.get()
            if not frames.empty():  # empty: its lane was dropped
                await send(frames.get_nowait())
