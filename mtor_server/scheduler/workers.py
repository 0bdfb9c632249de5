"""A worker as the realm sees it while its WorkerLink stream is open (or, subclassed by the
federation, a peer realm while its link is up: the scheduler treats both alike)."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import ClassVar

from mtor_client._proto.mtor.v1 import intent_pb2, worker_link_pb2

from ..health import HealthScore
from .executor import Assignment, TakenBy


@dataclass(frozen=True)
class Offer:
    """What a peer realm last reported it can do for one kind."""

    free_slots: int
    queue_depth: int
    hops: int
    """Realm hops from the peer to the nearest worker of the kind: 0 for its own workers."""
    cost_base: float
    cost_per_second: float


@dataclass
class ConnectedWorker:
    """An Executor: assignments and cancels go out on its stream as WorkerLink messages."""

    what: ClassVar[str] = "worker"
    """How messages name it: "worker w1", or "realm north" for a peer realm."""
    id: str
    name: str
    # kind name -> models served; an empty set means any model
    capabilities: dict[str, frozenset[str]]
    max_concurrency: int
    devices: list[worker_link_pb2.Device]
    version: str
    last_heartbeat: float
    health: HealthScore = field(default_factory=HealthScore)
    draining: bool = False  # as its heartbeats say
    held: bool = False  # drained by the sysop
    connected_at: float = field(default_factory=time.time)
    address: str = ""  # the IP it connected from; "" when not known
    # assignment id -> intent id, for every assignment sent and not yet ended by the worker
    running: dict[str, str] = field(default_factory=dict)
    # messages to send on the stream; None ends it
    outbox: asyncio.Queue[worker_link_pb2.RealmMessage | None] = field(default_factory=asyncio.Queue)
    realm_id: str = ""
    """Set for a peer realm (federation): its realm id; empty for a worker of this realm."""
    rtt_ms: float = 0.0
    """A peer realm's round trip, in milliseconds."""

    @property
    def is_peer(self) -> bool:
        return bool(self.realm_id)

    def offer(self, kind: str, model: str) -> Offer | None:
        """A peer realm's report for the kind (None when it does not serve it); None for a worker."""
        return None

    def serves(self, kind: str, model: str) -> bool:
        models = self.capabilities.get(kind)
        return models is not None and (not models or not model or model in models)

    @property
    def free_slots(self) -> int:
        return max(0, self.max_concurrency - len(self.running))

    @property
    def drained(self) -> bool:
        """Taking no new work: draining by its own choice or the sysop's."""
        return self.draining or self.held

    @property
    def available(self) -> bool:
        """May be given new work at all."""
        return not self.health.blacklisted and not self.drained

    @property
    def load(self) -> float:
        return len(self.running) / self.max_concurrency

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

    def taken(self, realm: str) -> TakenBy | None:
        """Who takes an assignment sent to it, known at once for a worker of `realm`; None when the executor
        reports it later (a peer realm, once one of its workers takes it)."""
        return TakenBy(self.name, realm)

    def settle(self, result: intent_pb2.IntentResult, processing_s: float, realm: str) -> float:
        """Its result as the realm reports it: served by this worker of `realm`, taking `processing_s` as the
        realm timed it. Returns the processing time to bill."""
        result.worker, result.realm = self.name, realm
        return processing_s

    def shun(self, avoid: set[str]) -> None:
        """Its attempt failed through no fault of the intent: mark it in the intent's `avoid` if the intent must
        not go there again (a worker: it may, once it is well)."""
