"""Fan-out of realm notices to every caller following `Intents.Notices`."""
from __future__ import annotations

import asyncio
import time

from mtor_client._proto.mtor.v1 import intents_pb2


class NoticeHub:
    def __init__(self, realm: str) -> None:
        self.realm = realm
        self._subscribers: set[asyncio.Queue[intents_pb2.Notice]] = set()

    def publish(self, text: str, level: int = intents_pb2.NOTICE_LEVEL_INFO) -> None:
        notice = intents_pb2.Notice(level=level, text=text, realm=self.realm)
        notice.time.FromNanoseconds(time.time_ns())
        for queue in self._subscribers:
            queue.put_nowait(notice)

    def subscribe(self) -> asyncio.Queue[intents_pb2.Notice]:
        queue: asyncio.Queue[intents_pb2.Notice] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[intents_pb2.Notice]) -> None:
        self._subscribers.discard(queue)
