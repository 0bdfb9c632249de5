"""What carries out an intent's attempt: a worker of this realm over its WorkerLink stream, or a peer realm over
a federation link. The realm speaks to both in these types only, so neither side needs the other's wire
messages, and the dispatcher treats both alike (which of them may take an intent is a strategy's choice:
strategies.py)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from mtor_client._proto.mtor.v1 import intent_pb2

from ..health import HealthScore


@dataclass(frozen=True)
class Assignment:
    """One attempt of an intent, sent to one executor."""

    assignment_id: str
    intent_id: str
    request: intent_pb2.IntentRequest
    timeout_s: float


@dataclass(frozen=True)
class TakenBy:
    """A worker took the assignment (a peer realm's worker: the realm forwarded it there)."""

    worker: str
    realm: str


@dataclass(frozen=True)
class Progress:
    delta: intent_pb2.Delta


@dataclass(frozen=True)
class Done:
    result: intent_pb2.IntentResult


@dataclass(frozen=True)
class Failure:
    error: intent_pb2.Error


Update = TakenBy | Progress | Done | Failure | None
"""What an executor reports about an assignment: any number of TakenBy and Progress, then one Done or Failure
(None: it ended the assignment without saying how; the intent's attempt then times out)."""


@dataclass(frozen=True)
class Offer:
    """What a peer realm last reported it can do for one kind."""

    free_slots: int
    queue_depth: int
    hops: int
    """Realm hops from the peer to the nearest worker of the kind: 0 for its own workers."""
    cost_base: float
    cost_per_second: float


@dataclass(eq=False)
class Executor(ABC):
    """Offers kinds and models in slots, runs assignments (its updates come back through
    Dispatcher.on_update), cancels them. Its health and slots are the realm's bookkeeping of it."""

    what: ClassVar[str] = "worker"
    """How messages name it: "worker w1", or "realm north" for a peer realm."""
    id: str
    name: str
    capabilities: dict[str, frozenset[str]]
    """Kind name -> models served; an empty set means any model."""
    max_concurrency: int
    last_heartbeat: float
    """time.monotonic() of its last heartbeat (a peer realm: its last capacity report)."""
    health: HealthScore = field(default_factory=HealthScore)
    draining: bool = False  # as it says itself
    held: bool = False  # drained by the sysop
    running: dict[str, str] = field(default_factory=dict)
    """Assignment id -> intent id, for every assignment sent and not yet ended by it."""

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
        return len(self.running) / self.max_concurrency if self.max_concurrency else 1.0

    def label(self, capital: bool = False) -> str:
        """How messages name it: "worker w1", "realm north"."""
        return f"{self.what.capitalize() if capital else self.what} {self.name}"

    @abstractmethod
    def run(self, assignment: Assignment) -> None:
        """Start the attempt; its updates come back through Dispatcher.on_update."""

    @abstractmethod
    def cancel(self, assignment_id: str, reason: str) -> None:
        """Stop the attempt; its end still comes back as an update (the slot is taken until then)."""

    @abstractmethod
    def close(self) -> None:
        """The realm is done with it: end its stream or link."""

    def taken(self, realm: str) -> TakenBy | None:
        """Who takes an assignment sent to it, known at once for a worker of `realm`; None when the executor
        reports it later (a peer realm, once one of its workers takes it)."""
        return TakenBy(self.name, realm)

    def settle(self, result: intent_pb2.IntentResult, processing_s: float, realm: str) -> float:
        """Its result as the realm reports it: served by this worker of `realm`, taking `processing_s` as the
        realm timed it. Returns the processing time to bill."""
        result.worker, result.realm = self.name, realm
        return processing_s

    def shunned(self, avoid: frozenset[str]) -> frozenset[str]:
        """Its attempt failed through no fault of the intent: the intent's `avoid`, with it added if the intent
        must not go there again (a worker: it may, once it is well)."""
        return avoid


@dataclass(eq=False)
class PeerExecutor(Executor):
    """A peer realm as an executor (the federation implements it): what it serves and how much of it is its
    last capacity report, offered per kind."""

    what: ClassVar[str] = "realm"
    realm_id: str = ""
    rtt_ms: float = 0.0
    """Its round trip, in milliseconds."""

    @abstractmethod
    def offer(self, kind: str, model: str) -> Offer | None:
        """Its last report for the kind (None when it does not serve it, or not that model)."""

    def shunned(self, avoid: frozenset[str]) -> frozenset[str]:
        return avoid | {self.realm_id}
