"""The dispatcher: the queues per kind, and moving intents between them and the executors. It starts an
intent on whichever executor the first strategy picks, follows the executor's updates to the intent's end,
and retries it elsewhere when its attempt was lost through no fault of its own.

Every move is a transition of the intent's life, written out by the book (book.apply)."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Sequence

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2
from mtor_client.kinds import WORKER_KINDS, to_proto

from mtor_common.config import Config

from ..accounting import intent_cost
from ..auth import Caller
from ..errors import RealmError
from ..errors import intent_error as error
from ..health.score import ERROR, FAILURE, SUCCESS
from ..intents.book import IntentBook
from ..lifecycle import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Finished, Phase
from ..queue import FairQueue, QueueFull
from ..records import LiveIntent
from ..store import Statement
from .executor import Assignment, Done, Executor, Failure, Progress, TakenBy, Update
from .pools import is_alias
from .registry import Registry
from .route import Route
from .strategies import Ask, Choice, Strategy, Wanted

log = logging.getLogger("mtor.realm")

# Failures reported by an executor that say nothing about the intent itself: try another one.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE.value[0], grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]}
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
TIMED_OUT = grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
INTERNAL = grpc.StatusCode.INTERNAL.value[0]
FAILURE_CODES = frozenset(code.value[0] for code in grpc.StatusCode) - {grpc.StatusCode.OK.value[0]}


def unservable_code(route: Route | None) -> grpc.StatusCode:
    """No realm can serve it: a peer that forwarded it should try elsewhere (UNAVAILABLE); its user should not
    retry until the federation changes (FAILED_PRECONDITION)."""
    return grpc.StatusCode.UNAVAILABLE if route is not None else grpc.StatusCode.FAILED_PRECONDITION


class Dispatcher:
    def __init__(self, cfg: Config, realm_name: str, realm_id: str, book: IntentBook, registry: Registry,
                 strategies: Sequence[Strategy]) -> None:
        self.cfg, self.realm_name, self.realm_id = cfg, realm_name, realm_id
        self.book, self.registry, self.strategies = book, registry, strategies
        self._queues = {kind: FairQueue(cfg.queue.max_depth) for kind in WORKER_KINDS}
        self._watched: dict[str, set[LiveIntent]] = {kind: set() for kind in WORKER_KINDS}
        """Per kind, queued intents someone follows: the ones told when their place in the queue changes."""
        self._moved: set[str] = set()  # kinds whose queue changed since positions were last told
        registry.on_ready = self.dispatch
        registry.on_lost = self._lost
        book.subscribe(self._left)
        book.freshen = self.freshen

    # ---------------------------------------------------------- admission --

    def refusal(self, kind: str, model: str, request: intent_pb2.IntentRequest, route: Route | None) -> None:
        """In a federation nothing waits for a server that no realm has: RealmError now, so that it never
        bounces. Alone, a realm queues it for the worker that may join."""
        if route is not None or self.registry.peers():
            why = self._unservable(Wanted(kind, model, request, route))
            if why:
                raise RealmError(unservable_code(route), why)

    def _unservable(self, ask: Ask) -> str:
        """Why no executor it may go to serves this kind and model at all (busy or not); "" when one does."""
        if any(strategy.serves(ask) for strategy in self.strategies):
            return ""
        what = f"{ask.kind} with model {ask.model!r}" if ask.model else ask.kind
        others = ", ".join(p.name for p in self.registry.peers()) or "none"
        return (f"no realm can serve {what}: no worker of realm {self.realm_name} serves it, nor does any peer "
                f"realm it may forward to (peers up: {others})")

    def reserve(self, kind: str, user: str) -> None:
        """Hold a place in the kind's queue from the quota's check to admit() (fair admission: queue/fair.py)."""
        try:
            self._queues[kind].reserve(user)
        except QueueFull as e:
            raise RealmError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                             f"{kind} queue is full, try again later: {e.reason}") from None

    def release(self, kind: str, user: str) -> None:
        self._queues[kind].release(user)

    def admit(self, intent: LiveIntent) -> None:
        """A new intent (its insert may still be committing): started at once when nothing waits before it and
        an executor takes it, else queued. Either way its first event is `accepted`."""
        queue = self._queues[intent.kind]
        choice = None if len(queue) else self._choose(intent)
        if choice is not None:
            self.book.apply(intent, intent.life.accept())
            self._start(intent, choice)
        else:
            queue.push(intent.id, intent.user)
            intent.parsed = None  # parsed again when it starts: waiting, it keeps only its bytes
            self.book.apply(intent, intent.life.accept(queue.position(intent.id)))
            self._report_positions(intent.kind)

    def withdraw(self, intent: LiveIntent, reason: str) -> None:
        """Undo admit() for an intent that could not be recorded: out of its queue, or its attempt stopped."""
        intent.cancel_timers()
        life = intent.life
        if life.done:
            return
        if self._queues[intent.kind].remove(intent.id):
            self._report_positions(intent.kind)
        elif life.active and (executor := self.registry.get(life.worker_id)) is not None:
            executor.cancel(life.assignment, reason)  # its end comes back for an intent no longer live

    def recovered(self, intent: LiveIntent, was_running: bool) -> None:
        """An unfinished intent read back after a restart (accepted again): queued, a running one as retried."""
        if was_running:
            self._requeue(intent, "the realm restarted")
        else:
            self._queues[intent.kind].push(intent.id, intent.user)
            self._report_positions(intent.kind)

    def arm_deadline(self, intent: LiveIntent) -> None:
        if intent.deadline is not None:
            intent.deadline_timer = asyncio.get_running_loop().call_later(
                max(0.0, intent.deadline - time.time()), self.cancel, intent,
                error(grpc.StatusCode.DEADLINE_EXCEEDED, "the caller's deadline passed"))

    # ----------------------------------------------------------- dispatch --

    def dispatch(self) -> None:
        """Start every queued intent some executor can take now, in fair order."""
        for kind, queue in self._queues.items():
            if not len(queue) or not self.registry.ready(kind):
                continue
            taken = False
            for intent_id in queue:
                intent = self.book[intent_id]
                choice = self._choose(intent)
                if choice is None:
                    continue
                queue.take(intent_id)
                taken = True
                self._start(intent, choice)
                if not choice.executor.free_slots and not self.registry.ready(kind):
                    break
            if taken:
                self._report_positions(kind)

    def _choose(self, intent: LiveIntent) -> Choice | None:
        for strategy in self.strategies:
            if (choice := strategy.pick(intent)) is not None:
                return choice
        return None

    def _report_positions(self, kind: str) -> None:
        """The kind's queue changed: its followed intents are told their new places once this turn of the event
        loop is over (a burst of changes makes one round of `queued` events, to those who listen)."""
        if not self._moved:
            asyncio.get_running_loop().call_soon(self._tell_positions)
        self._moved.add(kind)

    def _tell_positions(self) -> None:
        for kind in self._moved:
            watched = self._watched[kind]
            for intent in list(watched):
                if not (intent.watchers and self.freshen(intent)):
                    watched.discard(intent)  # started, ended, or nobody follows it any more
        self._moved.clear()

    def freshen(self, intent: LiveIntent) -> bool:
        """Someone is about to see the intent (it is followed, or asked about): bring its place in the queue up
        to date, and keep telling its followers while it waits. False when it is not waiting in a queue."""
        queue = self._queues.get(intent.kind)
        if queue is None or not (position := queue.position(intent.id)) or intent.life.done:
            return False
        self.book.apply(intent, intent.life.move(position, len(queue)))
        if intent.watchers:
            self._watched[intent.kind].add(intent)
        return True

    def _start(self, intent: LiveIntent, choice: Choice) -> None:
        executor, life = choice.executor, intent.life
        intent.reason = choice.reason
        self.book.apply(intent, life.assign(executor.name, executor.id, time.time()))
        executor.running[life.assignment] = intent.id
        self.registry.touched(executor)
        if (taken := executor.taken(self.realm_name)) is None:  # a peer realm reports it later, as TakenBy
            log.debug("intent %s forwarded to realm %s: %s", intent.id, executor.name, intent.reason)
        else:
            intent.reason = ""
            self.book.apply(intent, life.start(taken.worker, taken.realm))
        limit = self.cfg.timeouts.for_kind(intent.kind)
        # the executor stops at whichever comes first; the caller's deadline has its own timer here
        timeout = limit if intent.deadline is None else max(0.0, min(limit, intent.deadline - time.time()))
        request = intent.request
        if is_alias(request.model):  # the member runs its own model
            request = intent_pb2.IntentRequest()
            request.CopyFrom(intent.request)
            request.model = ""
        executor.run(Assignment(life.assignment, intent.id, request, timeout))
        intent.attempt_timer = asyncio.get_running_loop().call_later(
            limit, self._attempt_timed_out, intent, life.assignment)

    def _requeue(self, intent: LiveIntent, reason: str) -> None:
        """The attempt was lost through no fault of the intent: try again elsewhere."""
        if intent.attempt_timer is not None:
            intent.attempt_timer.cancel()
            intent.attempt_timer = None
        if intent.life.attempts >= self.cfg.dispatch.max_attempts:
            self.book.finish(intent, FAILED, error=error(
                grpc.StatusCode.UNAVAILABLE, f"gave up after {intent.life.attempts} attempts; last: {reason}"))
            return
        if (intent.avoid or intent.route is not None) and (why := self._unservable(intent)):
            self.book.finish(intent, FAILED, error=error(unservable_code(intent.route), f"{why}; last: {reason}"))
            return
        self.book.apply(intent, intent.life.retry(reason))
        self._queues[intent.kind].push_front(intent.id, intent.user)
        self._report_positions(intent.kind)

    def _left(self, intent: LiveIntent, finished: Finished) -> Statement | None:
        """A finished intent that waited in a queue leaves it (a book subscriber)."""
        queue = self._queues.get(intent.kind)
        if finished.was is Phase.QUEUED and queue is not None and queue.remove(intent.id):
            self._report_positions(intent.kind)
        return None

    # ------------------------------------------------------------ cancels --

    def cancel(self, intent: LiveIntent, why: intent_pb2.Error) -> None:
        """End it as cancelled (a composed intent with its current step); its executor is told to stop."""
        if intent.life.done:
            return
        if (step := self.book.live(intent.step_id)) is not None:
            self.cancel(step, why)
        if intent.life.active and (executor := self.registry.get(intent.life.worker_id)) is not None:
            # the slot stays taken until the executor confirms the assignment ended
            executor.cancel(intent.life.assignment, why.message)
        self.book.finish(intent, CANCELLED, error=why)

    async def cancel_by(self, intent_id: str, caller: Caller, reason: str = "cancelled by the caller") -> int:
        """Cancel an intent the caller may see; its state after."""
        found = await self.book.find(intent_id, caller)
        if isinstance(found, LiveIntent):
            self.cancel(found, error(grpc.StatusCode.CANCELLED, reason))
        return found.state

    def cancel_user(self, user: str, reason: str) -> int:
        """Cancel every queued and running intent of `user` (a ban, a terminate); returns how many."""
        mine = [i for i in self.book if i.user == user and not i.life.done]
        for intent in mine:
            self.cancel(intent, error(grpc.StatusCode.CANCELLED, reason))
        return len(mine)

    def clear_queue(self, kind: str | None, reason: str) -> int:
        """Cancel every queued intent (of one kind); running ones finish."""
        queued = [self.book[i] for k, queue in self._queues.items() if kind in (None, k) for i in queue]
        for intent in queued:
            self.cancel(intent, error(grpc.StatusCode.CANCELLED, reason))
        return len(queued)

    def fail_waiting_for(self, alias: str, why: intent_pb2.Error) -> int:
        """Fail every queued intent for a pool alias (the pool was deleted); returns how many."""
        waiting = [i for i in self.book if i.model == alias and i.state == QUEUED]
        for intent in waiting:
            self.book.finish(intent, FAILED, error=why)
        return len(waiting)

    def expire_queued(self) -> None:
        oldest = time.time() - self.cfg.queue.max_wait_s
        for intent in [i for i in self.book if i.state == QUEUED and i.created_at < oldest]:
            self.book.finish(intent, FAILED, error=error(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no worker took this {intent.kind} intent within {self.cfg.queue.max_wait_s:g} s "
                "(queue.max_wait_s)"))

    # ---------------------------------------------------- what executors say --

    def on_update(self, executor: Executor, assignment_id: str, update: Update) -> None:
        """An executor's report on an assignment: a worker of a peer realm took it, its progress, its end."""
        intent_id = executor.running.get(assignment_id)
        if intent_id is None:
            return  # an assignment the realm no longer expects
        intent = self.book.live(intent_id)
        current = intent is not None and intent.life.assignment == assignment_id and intent.life.active
        if isinstance(update, TakenBy):  # the caller's `started`, naming the peer's worker
            if current:
                self.book.apply(intent, intent.life.start(update.worker, update.realm, intent.reason))
            return
        if isinstance(update, Progress):
            if current:
                self.book.apply(intent, intent.life.progress(update.delta))
            return
        del executor.running[assignment_id]
        self.registry.touched(executor)
        if current and isinstance(update, Done):
            self.registry.record(executor, SUCCESS)
            self._succeed(intent, update.result, executor)
        elif current and isinstance(update, Failure):
            self._failed(intent, executor, update.error)
        self.dispatch()

    def _succeed(self, intent: LiveIntent, result: intent_pb2.IntentResult, executor: Executor) -> None:
        now = time.time()
        started = intent.life.started_at or now
        processing = now - started
        result.kind = to_proto(intent.kind)
        processing = executor.settle(result, processing, self.realm_name)
        result.model = result.model or intent.model
        result.usage.CopyFrom(intent_pb2.Usage(queue_wait_s=started - intent.created_at, processing_s=processing,
                                               cost=intent_cost(self.cfg.costs, intent.kind, processing)))
        self.book.finish(intent, SUCCEEDED, result=result)

    def _failed(self, intent: LiveIntent, executor: Executor, failure: intent_pb2.Error) -> None:
        if failure.code not in FAILURE_CODES:  # OK or no gRPC code at all: the caller must not read it as either
            failure = intent_pb2.Error(code=INTERNAL, message=f"failed with status code {failure.code}, which is "
                                       f"no failure: {failure.message}")
        if failure.code in RETRYABLE:
            intent.avoid = executor.shunned(intent.avoid)
            self._requeue(intent, f"{executor.label()}: {failure.message}")
            return
        if failure.code == TIMED_OUT:
            self.registry.record(executor, ERROR)
        elif failure.code != INVALID:  # a bad request is the caller's fault, not the executor's
            self.registry.record(executor, FAILURE)
        self.book.finish(intent, FAILED,
                         error=intent_pb2.Error(code=failure.code, message=f"{executor.label()}: {failure.message}"))

    def _attempt_timed_out(self, intent: LiveIntent, assignment: str) -> None:
        if intent.life.assignment != assignment or not intent.life.active:
            return
        limit = self.cfg.timeouts.for_kind(intent.kind)
        if (executor := self.registry.get(intent.life.worker_id)) is not None:
            self.registry.record(executor, ERROR)
            executor.cancel(assignment, "timed out")
        self.book.finish(intent, FAILED, error=error(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"worker {intent.life.worker} did not finish within {limit:g} s (timeouts.{intent.kind})"))

    def _lost(self, executor: Executor, reason: str) -> None:
        """An executor is out (a registry callback): what it was running goes elsewhere."""
        for assignment, intent_id in executor.running.items():
            intent = self.book.live(intent_id)
            if intent is not None and intent.life.assignment == assignment and intent.life.active:
                intent.avoid = executor.shunned(intent.avoid)
                self._requeue(intent, f"{executor.label()} lost: {reason}")

    # ------------------------------------------------------------ reading --

    def forward_route(self, intent_id: str) -> tuple[list[str], int, str] | None:
        """For a forward of this intent to a peer: (realm ids visited, this one included; forwards left after
        it; the origin user). None when it ended meanwhile."""
        intent = self.book.live(intent_id)
        if intent is None:
            return None
        if intent.route is None:
            return [self.realm_id], self.cfg.federation.max_hops - 1, intent.user
        return list(intent.route.visited), intent.route.hops_left - 1, intent.route.origin_user

    def queue_depth(self, kind: str) -> int:
        return len(self._queues[kind])

    def live_intents(self) -> list[LiveIntent]:
        """Running intents, then queued ones per kind in the order they will start (their places up to date)."""
        running = sorted((i for i in self.book if i.state == RUNNING and i.kind in WORKER_KINDS),
                         key=lambda i: i.life.started_at or 0.0)
        queued = [self.book[i] for queue in self._queues.values() for i in queue]
        for intent in queued:
            self.freshen(intent)
        return running + queued

    def queue_loads(self) -> list[tuple[str, int, int]]:
        """(kind, queued, running) for kinds with work."""
        running: dict[str, int] = {}
        for intent in self.book:
            if intent.state == RUNNING and intent.kind in WORKER_KINDS:
                running[intent.kind] = running.get(intent.kind, 0) + 1
        return [(kind, len(queue), running.get(kind, 0)) for kind, queue in self._queues.items()
                if len(queue) or running.get(kind)]
