"""The intents the realm holds (accepted and not yet answered), and the one place where what an intent's
transition caused is written out: its events to its watchers, its rows to the store, and at its end the
outcome with what the subscribers add (the ledger's row), then the one terminal event.

All of it runs on the event loop without awaiting in between, so dispatch, cancels, executor losses and
results never race. The only awaits are store commits: before `accepted` (intake) and before the terminal
event (here: no result is sent that a restart would forget)."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import AsyncIterator, Callable, Iterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2

from ..auth import SYSOP, Caller
from ..changes import Changes
from ..errors import RealmError, not_found
from ..lifecycle import (
    RUNNING,
    Accepted,
    Assigned,
    Composing,
    Event,
    Finished,
    Progressed,
    Queued,
    Relayed,
    Retried,
    Started,
)
from ..records import LiveIntent, info_from_live, info_from_row, is_terminal, terminal_event, terminal_event_from_row
from ..store import IntentRow, Statement, Store, StoreError, log_failure

log = logging.getLogger("mtor.realm")
RETRY_MIN_S, RETRY_MAX_S = 0.05, 2.0  # backoff of an outcome's write while the store fails

FinishedSubscriber = Callable[[LiveIntent, Finished], "Statement | None"]
"""Told of every finished intent before its outcome is written; a statement it returns is committed in one
transaction with the outcome (the ledger's row), before the terminal event goes out."""

REALM = Caller("(realm)", SYSOP)
"""The realm itself, following intents it started (converse steps)."""


def not_recorded() -> RealmError:
    return RealmError(grpc.StatusCode.UNAVAILABLE, "the realm could not record the intent; try again")


class IntentBook:
    def __init__(self, store: Store, incarnation: int, changes: Changes) -> None:
        self.store, self.changes = store, changes
        self._seq_base = incarnation << 32
        self._live: dict[str, LiveIntent] = {}
        self._by_request: dict[tuple[str, str], str] = {}
        self._subscribers: list[FinishedSubscriber] = []
        self._sends: set[asyncio.Future[None]] = set()  # outcomes being written; close() lets them end
        self._closing = False  # outcomes that cannot be recorded stop being retried
        self.freshen: Callable[[LiveIntent], object] = lambda intent: None
        """Bring what a caller is about to see of an intent up to date (the dispatcher: its place in the queue)."""

    def subscribe(self, subscriber: FinishedSubscriber) -> None:
        self._subscribers.append(subscriber)

    # ----------------------------------------------------------- holding --

    def add(self, intent: LiveIntent) -> None:
        self._live[intent.id] = intent
        if intent.request_id:
            self._by_request[(intent.user, intent.request_id)] = intent.id

    def forget(self, intent: LiveIntent) -> None:
        self._live.pop(intent.id, None)
        if intent.request_id:
            self._by_request.pop((intent.user, intent.request_id), None)

    def live(self, intent_id: str) -> LiveIntent | None:
        return self._live.get(intent_id)

    def __getitem__(self, intent_id: str) -> LiveIntent:
        return self._live[intent_id]

    def __iter__(self) -> Iterator[LiveIntent]:
        return iter(list(self._live.values()))

    async def existing(self, user: str, request_id: str) -> str | None:
        """The intent that `user` already submitted with this request id, once it is recorded; None if none."""
        intent_id = self._by_request.get((user, request_id))
        if intent_id is None:
            row = await self.store.find_request(user, request_id)
            # a concurrent Submit of the same id may have registered it meanwhile: attach to that one
            intent_id = self._by_request.get((user, request_id)) or (row.id if row else None)
        intent = self._live.get(intent_id or "")
        if intent is not None and intent.recorded is not None:
            try:  # accepted only once it is recorded, like the Submit that created it
                await asyncio.shield(intent.recorded)
            except StoreError:
                raise not_recorded() from None
        return intent_id

    async def find(self, intent_id: str, caller: Caller) -> LiveIntent | IntentRow:
        """The live intent or its stored row, if the caller may see it."""
        found: LiveIntent | IntentRow | None = self._live.get(intent_id) or await self.store.get(intent_id)
        if found is None:
            raise not_found(intent_id)
        if found.user != caller.user and not caller.is_sysop:
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED, f"intent {intent_id} belongs to another user")
        return found

    async def get(self, intent_id: str, caller: Caller) -> intents_pb2.IntentInfo:
        found = await self.find(intent_id, caller)
        if isinstance(found, LiveIntent):
            self.freshen(found)
            return info_from_live(found)
        return info_from_row(found)

    async def follow(self, intent_id: str, after_seq: int = 0,
                     caller: Caller | None = None) -> AsyncIterator[intent_pb2.IntentEvent]:
        """The intent's events after `after_seq`, live, up to and including the terminal one.
        Without a caller (the realm's own use), anyone's intent."""
        intent = self._live.get(intent_id)
        if intent is None or caller is not None:
            found = await self.find(intent_id, caller or REALM)
            if not isinstance(found, LiveIntent):
                if found.finished_at is None:  # recorded but not live: only while the realm starts
                    raise not_found(intent_id)
                yield terminal_event_from_row(found)
                return
            intent = found
        events: asyncio.Queue[intent_pb2.IntentEvent] = asyncio.Queue()
        for _, data in intent.history:
            event = intent_pb2.IntentEvent.FromString(data)
            if event.seq > after_seq:
                events.put_nowait(event)
        if intent.watchers is None:
            intent.watchers = set()
        intent.watchers.add(events)
        self.freshen(intent)
        try:
            while True:
                event = await events.get()
                yield event
                if is_terminal(event):
                    return
        finally:
            intent.watchers.discard(events)  # type: ignore[union-attr]  # made above

    # ------------------------------------------------------ writing out --

    def apply(self, intent: LiveIntent, events: list[Event]) -> None:
        """React to what a transition of the intent caused: the one place its changes are written out
        (watchers, the store, and at its end the subscribers and the outcome)."""
        for event in events:
            if isinstance(event, Accepted):
                self._emit(intent, accepted=intent_pb2.Accepted(intent_id=intent.id,
                                                                queue_position=event.queue_position))
            elif isinstance(event, Queued):
                self._emit(intent, queued=intent_pb2.Queued(queue_position=event.queue_position,
                                                            queue_depth=event.queue_depth))
            elif isinstance(event, (Assigned, Composing)):
                worker = event.worker if isinstance(event, Assigned) else ""
                log_failure(self.store.mark_started(intent.id, state=RUNNING, attempts=event.attempt, worker=worker,
                                                     started_at=event.at))
            elif isinstance(event, Started):
                self._emit(intent, started=intent_pb2.Started(worker=event.worker, realm=event.realm,
                                                              attempt=event.attempt, reason=event.reason))
            elif isinstance(event, Retried):
                self._emit(intent, retrying=intent_pb2.Retrying(attempt=event.attempt, reason=event.reason))
            elif isinstance(event, Progressed):
                self._emit(intent, delta=event.delta)
            elif isinstance(event, Relayed):
                self._emit(intent, **{event.which: event.message})
            elif isinstance(event, Finished):
                self._finished(intent, event)

    def finish(self, intent: LiveIntent, state: int, *, result: intent_pb2.IntentResult | None = None,
               error: intent_pb2.Error | None = None) -> None:
        """Its one outcome, unless it has one already."""
        if not intent.life.done:
            self.apply(intent, intent.life.finish(state, time.time(), result=result, error=error))

    def _emit(self, intent: LiveIntent, **event: object) -> None:
        self.changes.changed()
        intent.seq += 1
        message = intent_pb2.IntentEvent(intent_id=intent.id, seq=self._seq_base + intent.seq, **event)
        message.time.FromNanoseconds(time.time_ns())
        self._publish(intent, message)

    @staticmethod
    def _publish(intent: LiveIntent, event: intent_pb2.IntentEvent) -> None:
        history, which = intent.history, event.WhichOneof("event")
        entry = (which, event.SerializeToString())
        if which == "queued" and history and history[-1][0] == "queued":
            history[-1] = entry  # a late follower needs only the last place, however long it waited
        else:
            history.append(entry)
        for watcher in intent.watchers or ():
            watcher.put_nowait(event)

    def _finished(self, intent: LiveIntent, finished: Finished) -> None:
        """Record the outcome with what the subscribers add, then send the one terminal event."""
        intent.cancel_timers()
        recorded = intent.recorded
        if recorded is not None and not recorded.done():
            # it ended while its insert was committing: the outcome follows the insert, and nothing of it is
            # written (nor billed) if the insert fails (intake withdraws it)
            recorded.add_done_callback(lambda f: None if f.cancelled() or f.exception() else
                                       self._write_outcome(intent, finished))
            return
        self._write_outcome(intent, finished)

    def _write_outcome(self, intent: LiveIntent, finished: Finished) -> None:
        statements = [s for subscriber in self._subscribers if (s := subscriber(intent, finished)) is not None]
        result, error = finished.result, finished.error
        intent.seq += 1
        event = terminal_event(intent.id, self._seq_base + intent.seq, finished.at, result, error)
        statements.append(self.store.finished(
            intent.id, state=finished.state, attempts=intent.life.attempts, worker=intent.life.worker,
            finished_at=finished.at, final_seq=event.seq,
            result=result.SerializeToString() if result is not None else None,
            error_code=error.code if error is not None else None,
            error_message=error.message if error is not None else None))
        written = self.store.transaction(statements)
        self._sends.add(written)
        written.add_done_callback(lambda f: self._outcome_written(intent, event, statements, f))

    def _outcome_written(self, intent: LiveIntent, event: intent_pb2.IntentEvent, outcome: list[Statement],
                         written: asyncio.Future[None]) -> None:
        """Send the terminal event once the outcome and its ledger row are recorded (a callback, not a task:
        this is every intent's last step)."""
        self._sends.discard(written)
        if written.cancelled():
            return
        if (error := written.exception()) is None:
            self._told(intent, event)
            return
        retry = asyncio.create_task(self._retry_outcome(intent, event, outcome, error))
        self._sends.add(retry)
        retry.add_done_callback(self._sends.discard)

    async def _retry_outcome(self, intent: LiveIntent, event: intent_pb2.IntentEvent, outcome: list[Statement],
                             error: BaseException) -> None:
        """While the outcome cannot be recorded, the intent stays live (callers wait for it, a Submit of its
        request id attaches to it) and the write is retried; a realm stopped meanwhile recovers it as unfinished
        at its next start."""
        log.warning("intent %s: its outcome is not recorded yet (%s); kept and retried", intent.id, error)
        retry_s = RETRY_MIN_S
        while not self._closing:
            await asyncio.sleep(retry_s)
            retry_s = min(2 * retry_s, RETRY_MAX_S)
            try:
                await self.store.transaction(outcome)
            except StoreError:
                continue
            self._told(intent, event)
            return

    def _told(self, intent: LiveIntent, event: intent_pb2.IntentEvent) -> None:
        self._publish(intent, event)
        self.forget(intent)
        self.changes.changed()

    async def close(self) -> None:
        """Let the terminal events on their way be recorded (or given up on), and stop every timer."""
        self._closing = True
        if self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
        for intent in self._live.values():
            intent.cancel_timers()
