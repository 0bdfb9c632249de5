"""An intent while the realm holds it in memory, and the protobuf views of it."""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from google.protobuf.timestamp_pb2 import Timestamp
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2
from mtor_client.kinds import to_proto

from .lifecycle import QUEUED, Life
from .scheduler.route import Route
from .store import IntentRow

TIMESTAMP_MIN_S = -62135596800
"""0001-01-01T00:00:00Z, the earliest time a google.protobuf.Timestamp holds."""
TIMESTAMP_MAX_S = 253402300799
"""9999-12-31T23:59:59Z, the last whole second a Timestamp holds."""


@dataclass(eq=False, slots=True)
class LiveIntent:
    """Unfinished (or just finishing) intent. Finished ones live only in the store. Its state and attempts
    are its `life`'s, which only lifecycle's transitions change."""

    id: str
    user: str
    kind: str
    model: str
    request_data: bytes
    """The request, serialized (as the store keeps it): a queued intent holds only these bytes."""
    created_at: float
    life: Life
    request_id: str = ""
    parsed: intent_pb2.IntentRequest | None = None
    """The request as a message, while it is needed (see `request`)."""
    deadline: float | None = None
    step_id: str = ""  # a converse intent's current step
    seq: int = 0  # events emitted (the realm adds its incarnation base)
    history: list[tuple[str, bytes]] = field(default_factory=list)
    """Its events so far, for followers that come later: (which event, the serialized IntentEvent), since a
    protobuf message costs far more memory than its bytes and 100,000 intents may wait (bench_queue)."""
    watchers: set[asyncio.Queue[intent_pb2.IntentEvent]] | None = None  # made for the first follower
    attempt_timer: asyncio.TimerHandle | None = None
    deadline_timer: asyncio.TimerHandle | None = None
    route: Route | None = None  # set when a peer realm forwarded it here
    avoid: frozenset[str] = frozenset()  # ids of peer realms that failed it: not forwarded there again
    reason: str = ""  # why the current attempt went to the peer realm it went to
    recorded: asyncio.Future[None] | None = None  # its insert's commit; a duplicate Submit waits for it

    @property
    def request(self) -> intent_pb2.IntentRequest:
        """Parsed from `request_data` when it was dropped (a queued intent drops it: bench_queue's RSS)."""
        if self.parsed is None:
            self.parsed = intent_pb2.IntentRequest.FromString(self.request_data)
        return self.parsed

    @property
    def state(self) -> int:
        return self.life.state

    def cancel_timers(self) -> None:
        for timer in (self.attempt_timer, self.deadline_timer):
            if timer is not None:
                timer.cancel()
        self.attempt_timer = self.deadline_timer = None


def stamp(ts: Timestamp, seconds: float | None) -> None:
    """Set a Timestamp from unix seconds; None (or NaN) leaves it unset. A time beyond what a Timestamp holds
    is clamped to its range, so that a value stored before requests were checked (an `inf` token expiry)
    cannot break a listing."""
    if seconds is None or math.isnan(seconds):
        return
    if TIMESTAMP_MIN_S < seconds < TIMESTAMP_MAX_S:
        ts.FromNanoseconds(int(seconds * 1e9))
    else:
        ts.FromSeconds(TIMESTAMP_MAX_S if seconds > 0 else TIMESTAMP_MIN_S)


def info_from_live(intent: LiveIntent) -> intents_pb2.IntentInfo:
    life = intent.life
    info = intents_pb2.IntentInfo(intent_id=intent.id, kind=to_proto(intent.kind), model=intent.model,
                                  state=life.state, attempts=life.attempts, worker=life.worker,
                                  queue_position=life.position if life.state == QUEUED else 0)
    stamp(info.created_at, intent.created_at)
    stamp(info.started_at, life.started_at)
    stamp(info.finished_at, life.finished_at)
    if life.result is not None:
        info.result.CopyFrom(life.result)
    if life.error is not None:
        info.error.CopyFrom(life.error)
    return info


def info_from_row(row: IntentRow) -> intents_pb2.IntentInfo:
    info = intents_pb2.IntentInfo(intent_id=row.id, kind=to_proto(row.kind), model=row.model, state=row.state,
                                  attempts=row.attempts, worker=row.worker)
    stamp(info.created_at, row.created_at)
    stamp(info.started_at, row.started_at)
    stamp(info.finished_at, row.finished_at)
    if row.result is not None:
        info.result.ParseFromString(row.result)
    if row.error_code is not None:
        info.error.code = row.error_code
        info.error.message = row.error_message or ""
    return info


def terminal_event(intent_id: str, seq: int, at: float, result: intent_pb2.IntentResult | None,
                   error: intent_pb2.Error | None) -> intent_pb2.IntentEvent:
    event = intent_pb2.IntentEvent(intent_id=intent_id, seq=seq)
    stamp(event.time, at)
    if result is not None:
        event.result.CopyFrom(result)
    else:
        event.failed.CopyFrom(error or intent_pb2.Error())
    return event


def terminal_event_from_row(row: IntentRow) -> intent_pb2.IntentEvent:
    info = info_from_row(row)
    return terminal_event(row.id, row.final_seq or 0, row.finished_at or 0.0,
                          info.result if info.HasField("result") else None, info.error)


def is_terminal(event: intent_pb2.IntentEvent) -> bool:
    return event.WhichOneof("event") in ("result", "failed")
