"""A worker as the realm sees it while its WorkerLink stream is open: an executor whose assignments and
cancels go out on its stream."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mtor_client._proto.mtor.v1 import worker_link_pb2

from .executor import Assignment, Executor


class Outbox:
    """What the realm sends one worker, drained by its Connect stream: a list and one waiter, since an
    asyncio.Queue (three deques and an Event) weighs more than the rest of a worker (bench_scale: 10,000)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[worker_link_pb2.RealmMessage | None] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, message: worker_link_pb2.RealmMessage | None) -> None:
        self._items.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def get_nowait(self) -> worker_link_pb2.RealmMessage | None:
        return self._items.pop(0)

    async def get(self) -> worker_link_pb2.RealmMessage | None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


@dataclass(eq=False)
class ConnectedWorker(Executor):
    devices: list[worker_link_pb2.Device] = field(default_factory=list)
    version: str = ""
    connected_at: float = field(default_factory=time.time)
    address: str = ""  # the IP it connected from; "" when not known
    takes_batches: bool = False
    """Its hello said it takes several assignments in one message."""
    outbox: Outbox = field(default_factory=Outbox)
    """Messages to send on the stream; None ends it."""

    def send(self, message: worker_link_pb2.RealmMessage | None) -> None:
        self.outbox.put_nowait(message)

    def run(self, assignment: Assignment) -> None:
        self.send(worker_link_pb2.RealmMessage(assign=worker_link_pb2.Assignment(
            assignment_id=assignment.assignment_id, intent_id=assignment.intent_id, intent=assignment.request,
            timeout_s=assignment.timeout_s)))

    def cancel(self, assignment_id: str, reason: str) -> None:
        self.send(worker_link_pb2.RealmMessage(cancel=worker_link_pb2.CancelAssignment(
            assignment_id=assignment_id, reason=reason)))

    def close(self) -> None:
        self.send(None)
