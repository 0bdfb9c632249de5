"""What carries out an intent's attempt: a worker of this realm over its WorkerLink stream, or a peer realm over
a federation link. The realm speaks to both in these types only, so neither side needs the other's wire
messages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mtor_client._proto.mtor.v1 import intent_pb2


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

    def serves(self, kind: str, model: str) -> bool: ...

    def run(self, assignment: Assignment) -> None:
        """Start the attempt; its updates come back through Realm.on_update."""

    def cancel(self, assignment_id: str, reason: str) -> None:
        """Stop the attempt; its end still comes back as an update (the slot is taken until then)."""

    def close(self) -> None:
        """The realm is done with it: end its stream or link."""
