"""What carries out an intent's attempt: a worker of this realm over its WorkerLink stream, or a peer realm over
a federation link. The realm speaks to both in these types only, so neither side needs the other's wire
messages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from mtor_client._proto.mtor.v1 import intent_pb2

if TYPE_CHECKING:
    from .workers import Offer


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


class Executor(Protocol):
    """Offers kinds and models, runs assignments (reporting Updates to the realm), cancels them."""

    id: str
    name: str
    what: ClassVar[str]
    """How messages name it: "worker" or "realm"."""

    def serves(self, kind: str, model: str) -> bool: ...

    def offer(self, kind: str, model: str) -> Offer | None:
        """A peer realm's last report for the kind; None for a worker (or a kind it does not serve)."""

    def run(self, assignment: Assignment) -> None:
        """Start the attempt; its updates come back through Realm.on_update."""

    def cancel(self, assignment_id: str, reason: str) -> None:
        """Stop the attempt; its end still comes back as an update (the slot is taken until then)."""

    def close(self) -> None:
        """The realm is done with it: end its stream or link."""

    def taken(self, realm: str) -> TakenBy | None:
        """Who takes an assignment, if known when it is sent (a worker of `realm` itself)."""

    def settle(self, result: intent_pb2.IntentResult, processing_s: float, realm: str) -> float:
        """Name who served the result; the processing time to bill."""

    def shun(self, avoid: set[str]) -> None:
        """Mark an intent whose attempt it lost not to be sent there again, where that applies."""
