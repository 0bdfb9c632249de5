"""A worker as the realm sees it while its WorkerLink stream is open: an executor whose assignments and
cancels go out on its stream."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mtor_client._proto.mtor.v1 import worker_link_pb2

from .executor import Assignment, Executor


@dataclass(eq=False)
class ConnectedWorker(Executor):
    devices: list[worker_link_pb2.Device] = field(default_factory=list)
    version: str = ""
    connected_at: float = field(default_factory=time.time)
    address: str = ""  # the IP it connected from; "" when not known
    takes_batches: bool = False
    """Its hello said it takes several assignments in one message."""
    outbox: asyncio.Queue[worker_link_pb2.RealmMessage | None] = field(default_factory=asyncio.Queue)
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
