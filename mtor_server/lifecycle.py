"""An intent's life as one state machine, and the events each move causes.

Every change of an intent's state happens here, in one method per transition: it checks the current
phase, changes it, and returns the events it causes. It writes nothing itself (no store, ledger, metrics
or watchers, no I/O, no clock): the intent book (intents/book.py) applies the events in one place, and a
new reaction to, say, a finished intent subscribes there.

    queued -> assigned -> running -> succeeded | failed | cancelled
       ^         |           |
       +--- retried ---------+            (interrupted: recovered after a restart, in no queue)
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from mtor_client._proto.mtor.v1 import intent_pb2

QUEUED = intent_pb2.INTENT_STATE_QUEUED
RUNNING = intent_pb2.INTENT_STATE_RUNNING
SUCCEEDED = intent_pb2.INTENT_STATE_SUCCEEDED
FAILED = intent_pb2.INTENT_STATE_FAILED
CANCELLED = intent_pb2.INTENT_STATE_CANCELLED
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})


class Phase(enum.Enum):
    """Finer than the protocol's state: what the realm must know to move an intent on."""

    QUEUED = "queued"
    ASSIGNED = "assigned"  # sent to an executor; a peer realm names the worker once one takes it
    RUNNING = "running"  # on a worker (announced to watchers), or run by the realm itself (converse)
    INTERRUPTED = "interrupted"  # recovered after a restart from a running row: in no queue, on no worker
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


STATE_OF = {Phase.QUEUED: QUEUED, Phase.ASSIGNED: RUNNING, Phase.RUNNING: RUNNING, Phase.INTERRUPTED: RUNNING,
            Phase.SUCCEEDED: SUCCEEDED, Phase.FAILED: FAILED, Phase.CANCELLED: CANCELLED}
"""The protocol state watchers and the store see for each phase."""
PHASE_OF_OUTCOME = {SUCCEEDED: Phase.SUCCEEDED, FAILED: Phase.FAILED, CANCELLED: Phase.CANCELLED}
ACTIVE = frozenset({Phase.ASSIGNED, Phase.RUNNING})
"""Phases in which an attempt is out on an executor."""


class IllegalTransition(Exception):
    """A move the intent's current phase does not allow (a result after a cancel, a second outcome)."""


@dataclass(frozen=True)
class Accepted:
    queue_position: int


@dataclass(frozen=True)
class Queued:
    """Its place in the queue changed."""

    queue_position: int
    queue_depth: int


@dataclass(frozen=True)
class Assigned:
    """An attempt went to an executor: it is recorded as started."""

    worker: str
    attempt: int
    assignment: str
    at: float


@dataclass(frozen=True)
class Started:
    """A worker took the attempt (for a forwarded intent, a worker of the peer realm)."""

    worker: str
    realm: str
    attempt: int
    reason: str = ""


@dataclass(frozen=True)
class Composing:
    """The realm itself began an attempt of a composed intent (converse): recorded as started."""

    attempt: int
    at: float


@dataclass(frozen=True)
class Retried:
    """The last attempt was lost through no fault of the intent; `attempt` is the next one's number."""

    attempt: int
    reason: str


@dataclass(frozen=True)
class Progressed:
    delta: intent_pb2.Delta


@dataclass(frozen=True)
class Relayed:
    """An event of a composed intent's step, which its watchers see as the intent's own."""

    which: str
    message: object


@dataclass(frozen=True)
class Finished:
    """Its one outcome: record it (with its ledger row), then send the terminal event."""

    state: int
    result: intent_pb2.IntentResult | None
    error: intent_pb2.Error | None
    at: float
    started_at: float | None
    was: Phase


Event = Accepted | Queued | Assigned | Started | Composing | Retried | Progressed | Relayed | Finished


@dataclass(slots=True)
class Life:
    """The mutable part of one intent: its phase and what its attempts left behind."""

    intent_id: str
    phase: Phase = Phase.QUEUED
    attempts: int = 0
    worker: str = ""
    worker_id: str = ""
    assignment: str = ""
    position: int = 0  # last queue place reported to watchers
    started_at: float | None = None
    finished_at: float | None = None
    result: intent_pb2.IntentResult | None = None
    error: intent_pb2.Error | None = None
    accepted: bool = False

    @classmethod
    def recovered(cls, intent_id: str, state: int, attempts: int) -> Life:
        """An unfinished intent read back after a restart: a running one lost its attempt."""
        return cls(intent_id, Phase.QUEUED if state == QUEUED else Phase.INTERRUPTED, attempts)

    @property
    def state(self) -> int:
        return STATE_OF[self.phase]

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    @property
    def active(self) -> bool:
        """An attempt is out on an executor."""
        return self.phase in ACTIVE

    def _require(self, move: str, *phases: Phase) -> None:
        if self.phase not in phases:
            raise IllegalTransition(f"intent {self.intent_id}: cannot {move} while {self.phase.value}")

    def accept(self, queue_position: int = 0) -> list[Event]:
        if self.accepted or self.done:
            raise IllegalTransition(f"intent {self.intent_id}: accepted already")
        self.accepted = True
        self.position = queue_position if self.phase is Phase.QUEUED else 0
        return [Accepted(queue_position)]

    def move(self, queue_position: int, queue_depth: int) -> list[Event]:
        """Its place in the queue is now `queue_position`: an event only when that changed."""
        self._require("move in the queue", Phase.QUEUED)
        if queue_position == self.position:
            return []
        self.position = queue_position
        return [Queued(queue_position, queue_depth)]

    def assign(self, worker: str, worker_id: str, at: float) -> list[Event]:
        self._require("be assigned", Phase.QUEUED)
        self.attempts += 1
        self.phase = Phase.ASSIGNED
        self.worker, self.worker_id = worker, worker_id
        self.assignment = f"{self.intent_id}/{self.attempts}"
        self.started_at, self.position = at, 0
        return [Assigned(worker, self.attempts, self.assignment, at)]

    def start(self, worker: str, realm: str, reason: str = "") -> list[Event]:
        """A worker took the assigned attempt; a peer realm may say so again when it retries there."""
        self._require("start", Phase.ASSIGNED, Phase.RUNNING)
        self.phase = Phase.RUNNING
        self.worker = worker
        return [Started(worker, realm, self.attempts, reason)]

    def compose(self, at: float, retry_reason: str = "") -> list[Event]:
        """The realm runs it itself, as steps of other kinds; after a restart (`retry_reason`), as a next
        attempt."""
        self._require("be composed", Phase.QUEUED, Phase.INTERRUPTED)
        events: list[Event] = [Retried(self.attempts + 1, retry_reason)] if retry_reason else []
        self.attempts += 1
        self.phase = Phase.RUNNING
        self.worker = self.worker_id = ""
        self.started_at, self.position = at, 0
        return [*events, Composing(self.attempts, at)]

    def progress(self, delta: intent_pb2.Delta) -> list[Event]:
        self._require("progress", Phase.ASSIGNED, Phase.RUNNING)
        return [Progressed(delta)]

    def relay(self, which: str, message: object) -> list[Event]:
        """A composed intent passes on an event of its current step (started, queued, retrying) as its own."""
        self._require("relay a step's event", Phase.RUNNING)
        return [Relayed(which, message)]

    def retry(self, reason: str) -> list[Event]:
        """Back to the queue for another attempt (the realm puts it at the queue's front)."""
        self._require("retry", Phase.ASSIGNED, Phase.RUNNING, Phase.INTERRUPTED)
        self.phase = Phase.QUEUED
        self.assignment = self.worker = self.worker_id = ""
        return [Retried(self.attempts + 1, reason)]

    def finish(self, state: int, at: float, *, result: intent_pb2.IntentResult | None = None,
               error: intent_pb2.Error | None = None) -> list[Event]:
        """Its one outcome: succeeded (with a result), failed or cancelled (with an error)."""
        if self.done:
            raise IllegalTransition(f"intent {self.intent_id}: finished already ({self.phase.value})")
        phase = PHASE_OF_OUTCOME.get(state)
        if phase is None:
            raise IllegalTransition(f"intent {self.intent_id}: {state} is no outcome")
        if phase is Phase.SUCCEEDED:
            self._require("succeed", Phase.ASSIGNED, Phase.RUNNING)
            if result is None:
                raise IllegalTransition(f"intent {self.intent_id}: succeeded without a result")
        was, self.phase = self.phase, phase
        self.result, self.error, self.finished_at = result, error, at
        return [Finished(state, result, error, at, self.started_at, was)]
