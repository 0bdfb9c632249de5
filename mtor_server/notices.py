"""Fan-out of realm notices to the callers following `Intents.Notices`:
broadcasts to everyone, worker health changes to sysops only."""
from __future__ import annotations

import asyncio
import time

from mtor_client._proto.mtor.v1 import intents_pb2

from .auth import Caller


class NoticeHub:
    def __init__(self, realm: str) -> None:
        self.realm = realm
        self._subscribers: dict[asyncio.Queue[intents_pb2.Notice], Caller] = {}

    def publish(self, text: str, level: int = intents_pb2.NOTICE_LEVEL_INFO, *, sysops_only: bool = False) -> int:
        """Send to every subscriber (or every sysop); returns how many received it."""
        notice = intents_pb2.Notice(level=level, text=text, realm=self.realm)
        notice.time.FromNanoseconds(time.time_ns())
        sent = 0
        for queue, caller in self._subscribers.items():
            if caller.is_sysop or not sysops_only:
                queue.put_nowait(notice)
                sent += 1
        return sent

    def subscribe(self, caller: Caller) -> asyncio.Queue[intents_pb2.Notice]:
        queue: asyncio.Queue[intents_pb2.Notice] = asyncio.Queue()
        self._subscribers[queue] = caller
        return queue

    def unsubscribe(self, queue: asyncio.Queue[intents_pb2.Notice]) -> None:
        self._subscribers.pop(queue, None)
