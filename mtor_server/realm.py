"""The realm: an intent's life from acceptance to its one terminal event.

All state changes happen on the event loop without awaiting in between, so
dispatch, cancels, worker losses and results never race. The only awaits are
store commits: before `accepted` (nothing accepted is lost) and before the
terminal event (no result is sent that a restart would forget).

An intent moves only by the transitions of its `life` (lifecycle.py); what a
transition causes is written out in one place, `_apply`. Workers and peer
realms are executors (scheduler/executor.py): run, cancel, report updates.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import AsyncIterator, Iterable

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, realm_pb2, worker_link_pb2
from mtor_client.kinds import WORKER_KINDS, name_of, to_proto

from mtor_common.config import Config

from . import PROTOCOL, __version__
from .accounting import LEDGER_SCHEMA, QUOTA_SCHEMA, Ledger, LedgerRow, Presence, Quotas, intent_cost
from .admin import AUDIT_SCHEMA, AuditLog
from .auth import SYSOP, Accounts, Caller, anonymous_allowed
from .auth.accounts import SCHEMA as ACCOUNTS_SCHEMA
from .discovery.network import NetworkView
from .errors import RealmError, not_found
from .health import Transition
from .health.score import ERROR, FAILURE, SUCCESS
from .identity import realm_id
from .lifecycle import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Accepted,
    Assigned,
    Composing,
    Event,
    Finished,
    Life,
    Phase,
    Progressed,
    Queued,
    Relayed,
    Retried,
    Started,
)
from .metrics import Reading, RealmMetrics
from .notices import NoticeHub
from .queue import FairQueue, QueueFull
from .records import (
    LiveIntent,
    info_from_live,
    info_from_row,
    is_terminal,
    terminal_event,
    terminal_event_from_row,
)
from .scheduler import ConnectedWorker, pick_worker
from .scheduler.executor import Assignment, Done, Failure, Progress, TakenBy, Update
from .scheduler.peer_choice import pick_peer
from .scheduler.pools import SCHEMA as POOL_SCHEMA
from .scheduler.pools import Pools, is_alias
from .scheduler.route import PEER_USER_PREFIX, Route
from .store import IntegrityError, IntentRow, Statement, Store, StoreError, log_failure
from .validate import validate_intent

log = logging.getLogger("mtor.realm")

COMPOSED = "converse"  # the one kind the realm carries out itself, as steps of other kinds
DB_FILE = "mtor.db"
# Failures reported by a worker that say nothing about the intent itself: try another worker.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE.value[0], grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]}
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
TIMED_OUT = grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
INTERNAL = grpc.StatusCode.INTERNAL.value[0]
FAILURE_CODES = frozenset(code.value[0] for code in grpc.StatusCode) - {grpc.StatusCode.OK.value[0]}
RETRY_MIN_S, RETRY_MAX_S = 0.05, 2.0  # backoff of an outcome's write while the store fails


def _error(code: grpc.StatusCode, message: str) -> intent_pb2.Error:
    return intent_pb2.Error(code=code.value[0], message=message)


def _who(worker: ConnectedWorker, capital: bool = False) -> str:
    """How messages name a worker, or a peer realm standing in for one."""
    return f"{worker.what.capitalize() if capital else worker.what} {worker.name}"


def _not_recorded() -> RealmError:
    return RealmError(grpc.StatusCode.UNAVAILABLE, "the realm could not record the intent; try again")


def _unservable_code(route: Route | None) -> grpc.StatusCode:
    """No realm can serve it: a peer that forwarded it should try elsewhere (UNAVAILABLE); its user should not
    retry until the federation changes (FAILED_PRECONDITION)."""
    return grpc.StatusCode.UNAVAILABLE if route is not None else grpc.StatusCode.FAILED_PRECONDITION


class Realm:
    def __init__(self, cfg: Config, store: Store, incarnation: int, *, realm_id: str, accounts: Accounts,
                 ledger: Ledger, quotas: Quotas, presence: Presence, pools: Pools) -> None:
        """Use open(): it loads these parts from the store."""
        self.cfg = cfg
        self.name = cfg.realm.name
        self.id = realm_id
        """Stable across restarts (identity.realm_id): how workers and peers know this realm again."""
        self.store = store
        self.started_at = time.time()
        self.notices = NoticeHub(self.name)
        self.accounts = accounts
        self.audit = AuditLog(store)
        self.ledger = ledger
        self.quotas = quotas
        self.presence = presence
        self.pools = pools
        self._seq_base = incarnation << 32
        self._live: dict[str, LiveIntent] = {}
        self._by_request: dict[tuple[str, str], str] = {}
        self._queues = {kind: FairQueue(cfg.queue.max_depth) for kind in WORKER_KINDS}
        self._workers: dict[str, ConnectedWorker] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # writes and sends that close() lets finish
        self._pipelines: set[asyncio.Task[None]] = set()  # converse intents: stopped at close, resumed at start
        self._monitor: asyncio.Task[None] | None = None
        self._closing = False  # outcomes that cannot be recorded stop being retried
        self._removed: set[str] = set()  # worker names the sysop removed, refused until readmitted
        self._watchers: set[asyncio.Event] = set()  # WatchRealm streams, woken by every change
        self._routes = cfg.federation.route_map()
        self.network = NetworkView(realm_id, None)
        """Workers and realms seen around it (Admin ListNetwork); the server starts the listening part."""
        self.metrics = RealmMetrics(self.name, self._reading)  # counted from Finished events

    @classmethod
    async def open(cls, cfg: Config, data_dir: Path, schemas: Iterable[str] = ()) -> "Realm":
        """`schemas`: the tables of the parts around the realm (the federation's)."""
        store = await Store.open(data_dir / DB_FILE, schemas=(ACCOUNTS_SCHEMA, AUDIT_SCHEMA, LEDGER_SCHEMA,
                                                              QUOTA_SCHEMA, POOL_SCHEMA, *schemas))
        try:  # a realm that cannot start closes its store: the store's thread would keep the process alive
            ledger = Ledger(store, SUCCEEDED)
            realm = cls(cfg, store, await store.next_incarnation(), realm_id=realm_id(data_dir),
                        accounts=await Accounts.open(store, anonymous_allowed(cfg)), ledger=ledger,
                        quotas=await Quotas.open(cfg.quotas, store, ledger), presence=await Presence.open(store),
                        pools=await Pools.open(store))
            await realm._recover()
        except BaseException:
            await store.close()
            raise
        realm._monitor = asyncio.create_task(realm._monitor_loop(), name="realm-monitor")
        return realm

    async def close(self) -> None:
        self._closing = True
        if self._monitor:
            self._monitor.cancel()
        for pipeline in list(self._pipelines):  # their steps are recorded; the next start resumes them
            pipeline.cancel()
        for worker in list(self._workers.values()):
            worker.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for intent in self._live.values():
            intent.cancel_timers()
        await self.store.close()

    def _spawn(self, coro, into: set[asyncio.Task[None]] | None = None) -> None:
        tasks = self._tasks if into is None else into
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    # ------------------------------------------------------------ intents --

    async def submit(self, user: str, request: intent_pb2.IntentRequest, deadline: float | None,
                     metered: bool = True, route: Route | None = None) -> str:
        """Validate, record and queue (or start) an intent; returns its id. A metered submission
        counts against the user's quota (a converse intent's steps do not: the intent did). `route`:
        how a peer realm forwarded it here."""
        kind = validate_intent(request, self.cfg.realm.max_payload_bytes)
        if is_alias(request.model):
            self.pools.get(request.model, kind)
        if kind != COMPOSED and (route is not None or self.peers()):
            # in a federation nothing waits for a server that no realm has: it fails now, and never bounces
            why = self._unservable(kind, request.model, route, set())
            if why:
                raise RealmError(_unservable_code(route), why)
        if request.request_id and (existing := await self._existing(user, request.request_id)) is not None:
            return existing
        if metered:
            self.quotas.admit(user)
        queue = self._queues.get(kind)  # None for a composed intent: it waits in its steps' queues
        if queue is not None:
            try:
                queue.reserve(user)
            except QueueFull as e:
                raise RealmError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                 f"{kind} queue is full, try again later: {e.reason}") from None
        intent_id = uuid.uuid4().hex
        intent = LiveIntent(id=intent_id, user=user, kind=kind, model=request.model, request=request,
                            created_at=time.time(), life=Life(intent_id), deadline=deadline, route=route)
        self._live[intent.id] = intent
        if intent.request_id:
            self._by_request[(user, intent.request_id)] = intent.id
        intent.recorded = self.store.insert(
            id=intent.id, user=user, request_id=intent.request_id, kind=kind, model=intent.model,
            request=request.SerializeToString(), state=QUEUED, created_at=intent.created_at, deadline=deadline)
        try:
            await intent.recorded
        except IntegrityError:  # the request id was recorded by a Submit that _existing could not see
            self._forget(intent)
            row = await self.store.find_request(user, intent.request_id)
            if row is None:
                raise _not_recorded() from None
            return row.id
        except StoreError:
            self._forget(intent)
            raise _not_recorded() from None
        finally:
            if queue is not None:
                queue.release(user)
        self._arm_deadline(intent)
        if queue is None:
            self._apply(intent, intent.life.accept())
            self._apply(intent, intent.life.compose(time.time()))
            self._spawn(self._converse(intent), self._pipelines)
            return intent.id
        worker = None if len(queue) else self._pick(intent, self._workers.values())
        if worker is not None:
            self._apply(intent, intent.life.accept())
            self._start(intent, worker)
        else:
            queue.push(intent.id, user)
            self._apply(intent, intent.life.accept(queue.positions()[intent.id]))
            self._report_positions(kind)
        return intent.id

    async def _existing(self, user: str, request_id: str) -> str | None:
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
                raise _not_recorded() from None
        return intent_id

    async def follow(self, intent_id: str, after_seq: int = 0,
                     caller: Caller | None = None) -> AsyncIterator[intent_pb2.IntentEvent]:
        """The intent's events after `after_seq`, live, up to and including the terminal one.
        Without a caller (the realm's own use), anyone's intent."""
        intent = self._live.get(intent_id)
        if intent is None or caller is not None:
            found = await self._find(intent_id, caller or _REALM)
            if not isinstance(found, LiveIntent):
                if found.finished_at is None:  # recorded but not live: only while the realm starts
                    raise not_found(intent_id)
                yield terminal_event_from_row(found)
                return
            intent = found
        events: asyncio.Queue[intent_pb2.IntentEvent] = asyncio.Queue()
        for event in intent.history:
            if event.seq > after_seq:
                events.put_nowait(event)
        intent.watchers.add(events)
        try:
            while True:
                event = await events.get()
                yield event
                if is_terminal(event):
                    return
        finally:
            intent.watchers.discard(events)

    async def cancel(self, intent_id: str, caller: Caller, reason: str = "cancelled by the caller") -> int:
        found = await self._find(intent_id, caller)
        if isinstance(found, LiveIntent):
            self._cancel(found, _error(grpc.StatusCode.CANCELLED, reason))
        return found.state

    async def get(self, intent_id: str, caller: Caller) -> intents_pb2.IntentInfo:
        found = await self._find(intent_id, caller)
        return info_from_live(found) if isinstance(found, LiveIntent) else info_from_row(found)

    async def _find(self, intent_id: str, caller: Caller) -> LiveIntent | IntentRow:
        """The live intent or its stored row, if the caller may see it."""
        found: LiveIntent | IntentRow | None = self._live.get(intent_id) or await self.store.get(intent_id)
        if found is None:
            raise not_found(intent_id)
        if found.user != caller.user and not caller.is_sysop:
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED, f"intent {intent_id} belongs to another user")
        return found

    def cancel_user(self, user: str, reason: str) -> int:
        """Cancel every queued and running intent of `user` (a ban, a terminate); returns how many."""
        mine = [i for i in self._live.values() if i.user == user and not i.life.done]
        for intent in mine:
            self._cancel(intent, _error(grpc.StatusCode.CANCELLED, reason))
        return len(mine)

    def describe(self) -> realm_pb2.DescribeResponse:
        response = realm_pb2.DescribeResponse(id=self.id, name=self.name, version=__version__, protocol=PROTOCOL,
                                              uptime_s=time.time() - self.started_at)
        for kind in WORKER_KINDS:
            serving = [w for w in self.workers() if kind in w.capabilities and w.available]
            depth = len(self._queues[kind])
            if not serving and not depth:
                continue
            any_model = any(not w.capabilities[kind] for w in serving)
            models = set() if any_model else {m for w in serving for m in w.capabilities[kind]}
            if not any_model:
                models.update(self.pools.aliases(kind, (w.name for w in serving)))
            response.kinds.add(kind=to_proto(kind), workers=len(serving), queue_depth=depth,
                               free_slots=sum(w.free_slots for w in serving), models=sorted(models))
        response.running = sum(len(w.running) for w in self.workers())
        return response

    # ---------------------------------------------------------- lifecycle --

    def watch_changes(self) -> asyncio.Event:
        """An event set at every change of workers or intents (WatchRealm); pass it to unwatch_changes."""
        changed = asyncio.Event()
        self._watchers.add(changed)
        return changed

    def unwatch_changes(self, changed: asyncio.Event) -> None:
        self._watchers.discard(changed)

    def _changed(self) -> None:
        for watcher in self._watchers:
            watcher.set()

    def _apply(self, intent: LiveIntent, events: list[Event]) -> None:
        """React to what a transition of the intent caused: the one place its changes are written out
        (watchers, the store, the ledger, metrics)."""
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

    def _emit(self, intent: LiveIntent, **event: object) -> None:
        self._changed()
        intent.seq += 1
        message = intent_pb2.IntentEvent(intent_id=intent.id, seq=self._seq_base + intent.seq, **event)
        message.time.FromNanoseconds(time.time_ns())
        self._publish(intent, message)

    @staticmethod
    def _publish(intent: LiveIntent, event: intent_pb2.IntentEvent) -> None:
        intent.history.append(event)
        for watcher in intent.watchers:
            watcher.put_nowait(event)

    def _report_positions(self, kind: str) -> None:
        queue = self._queues[kind]
        depth = len(queue)
        for intent_id, position in queue.positions().items():
            intent = self._live[intent_id]
            self._apply(intent, intent.life.move(position, depth))

    def dispatch(self) -> None:
        """Start every queued intent some worker can take now, in fair order."""
        for kind, queue in self._queues.items():
            if not len(queue):
                continue
            candidates = [w for w in self._workers.values() if w.available and w.free_slots and kind in w.capabilities]
            if not candidates:
                continue
            taken = False
            for intent_id in queue:
                intent = self._live[intent_id]
                worker = self._pick(intent, candidates)
                if worker is None:
                    continue
                queue.take(intent_id)
                taken = True
                self._start(intent, worker)
                if not worker.free_slots:
                    candidates.remove(worker)
                    if not candidates:
                        break
            if taken:
                self._report_positions(kind)

    def _pick(self, intent: LiveIntent, candidates: Iterable[ConnectedWorker]) -> ConnectedWorker | None:
        """A local worker that can take it now, else a peer realm (federation), else None."""
        candidates = list(candidates)
        local = [w for w in candidates if not w.is_peer]
        if not is_alias(intent.model):
            worker = pick_worker(local, intent.kind, intent.model)
        else:
            try:
                worker = self.pools.pick(self.pools.get(intent.model, intent.kind), local, intent.request)
            except RealmError:  # deleted meanwhile: delete_pool fails what waits for it
                return None
        if worker is not None:
            return worker
        choice = pick_peer(self._peers_for(intent.route, intent.avoid, candidates), intent.kind, intent.model,
                           self._routes)
        if choice is None:
            return None
        intent.reason = choice.reason
        return choice.peer

    def _peers_for(self, route: Route | None, avoid: set[str],
                   candidates: Iterable[ConnectedWorker]) -> list[ConnectedWorker]:
        """The peer realms among `candidates` an intent may be forwarded to: not one it passed through or
        that failed it, and only while it has forwards left."""
        hops_left = route.hops_left if route is not None else self.cfg.federation.max_hops
        if hops_left <= 0:
            return []
        visited = set(route.visited if route is not None else ()) | avoid | {self.id}
        return [w for w in candidates if w.is_peer and w.realm_id not in visited]

    def _unservable(self, kind: str, model: str, route: Route | None, avoid: set[str]) -> str:
        """Why no worker here and no peer realm it may go to serves this kind and model at all (busy or not);
        "" when one does."""
        if is_alias(model) or any(w.serves(kind, model) for w in self.workers()):
            return ""
        peers = self._peers_for(route, avoid, self._workers.values())
        if any(p.offer(kind, model) is not None for p in peers):
            return ""
        what = f"{kind} with model {model!r}" if model else kind
        others = ", ".join(sorted(p.name for p in self.peers())) or "none"
        return (f"no realm can serve {what}: no worker of realm {self.name} serves it, nor does any peer realm "
                f"it may forward to (peers up: {others})")

    def forward_route(self, intent_id: str) -> tuple[list[str], int, str] | None:
        """For a forward of this intent to a peer: (realm ids visited, this one included; forwards left after
        it; the origin user). None when it ended meanwhile."""
        intent = self._live.get(intent_id)
        if intent is None:
            return None
        if intent.route is None:
            return [self.id], self.cfg.federation.max_hops - 1, intent.user
        return list(intent.route.visited), intent.route.hops_left - 1, intent.route.origin_user

    def _start(self, intent: LiveIntent, worker: ConnectedWorker) -> None:
        life = intent.life
        self._apply(intent, life.assign(worker.name, worker.id, time.time()))
        worker.running[life.assignment] = intent.id
        if (taken := worker.taken(self.name)) is None:  # a peer realm reports it later, as a TakenBy update
            log.debug("intent %s forwarded to realm %s: %s", intent.id, worker.name, intent.reason)
        else:
            intent.reason = ""
            self._apply(intent, life.start(taken.worker, taken.realm))
        limit = self.cfg.timeouts.for_kind(intent.kind)
        # the worker stops at whichever comes first; the caller's deadline has its own timer here
        timeout = limit if intent.deadline is None else max(0.0, min(limit, intent.deadline - time.time()))
        request = intent.request
        if is_alias(request.model):  # the member runs its own model
            request = intent_pb2.IntentRequest()
            request.CopyFrom(intent.request)
            request.model = ""
        worker.run(Assignment(life.assignment, intent.id, request, timeout))
        intent.attempt_timer = asyncio.get_running_loop().call_later(
            limit, self._attempt_timed_out, intent, life.assignment)

    def _requeue(self, intent: LiveIntent, reason: str) -> None:
        """The attempt was lost through no fault of the intent: try again elsewhere."""
        if intent.attempt_timer is not None:
            intent.attempt_timer.cancel()
            intent.attempt_timer = None
        if intent.life.attempts >= self.cfg.dispatch.max_attempts:
            self._finish(intent, FAILED, error=_error(
                grpc.StatusCode.UNAVAILABLE, f"gave up after {intent.life.attempts} attempts; last: {reason}"))
            return
        if (intent.avoid or intent.route is not None) and \
                (why := self._unservable(intent.kind, intent.model, intent.route, intent.avoid)):
            self._finish(intent, FAILED, error=_error(_unservable_code(intent.route), f"{why}; last: {reason}"))
            return
        self._apply(intent, intent.life.retry(reason))
        self._queues[intent.kind].push_front(intent.id, intent.user)
        self._report_positions(intent.kind)

    def _cancel(self, intent: LiveIntent, error: intent_pb2.Error) -> None:
        if intent.life.done:
            return
        if (step := self._live.get(intent.step_id)) is not None:
            self._cancel(step, error)
        if intent.life.active and (worker := self._workers.get(intent.life.worker_id)) is not None:
            # the slot stays taken until the worker confirms the assignment ended
            worker.cancel(intent.life.assignment, error.message)
        self._finish(intent, CANCELLED, error=error)

    def _finish(self, intent: LiveIntent, state: int, *, result: intent_pb2.IntentResult | None = None,
                error: intent_pb2.Error | None = None) -> None:
        """Its one outcome, unless it has one already."""
        if not intent.life.done:
            self._apply(intent, intent.life.finish(state, time.time(), result=result, error=error))

    def _finished(self, intent: LiveIntent, finished: Finished) -> None:
        """Record the outcome, then send the one terminal event."""
        intent.cancel_timers()
        queue = self._queues.get(intent.kind)
        if finished.was is Phase.QUEUED and queue is not None and queue.remove(intent.id):
            self._report_positions(intent.kind)
        result, error = finished.result, finished.error
        accounted = self._account(intent)
        self.metrics.finished(intent.kind, intent.created_at, finished)
        intent.seq += 1
        event = terminal_event(intent.id, self._seq_base + intent.seq, finished.at, result, error)
        outcome = self.store.finished(
            intent.id, state=finished.state, attempts=intent.life.attempts, worker=intent.life.worker,
            finished_at=finished.at, final_seq=event.seq,
            result=result.SerializeToString() if result is not None else None,
            error_code=error.code if error is not None else None,
            error_message=error.message if error is not None else None)
        self._spawn(self._send_terminal(intent, event, [accounted, outcome]))

    def _account(self, intent: LiveIntent) -> Statement:
        """The intent's ledger row, written in one transaction with its outcome, both before it is sent."""
        life = intent.life
        finished = life.finished_at or time.time()
        started = life.started_at if life.started_at is not None else finished
        usage = life.result.usage if life.result is not None else None
        # a converse intent is billed through its steps, each an intent of its own
        cost = usage.cost if usage is not None and intent.kind != COMPOSED else 0.0
        realm = life.result.realm if life.result is not None and life.result.realm else self.name
        row = LedgerRow(intent.id, intent.user, intent.kind, intent.model, life.worker, realm,
                        usage.queue_wait_s if usage is not None else started - intent.created_at,
                        usage.processing_s if usage is not None else finished - started,
                        cost, life.state, finished)
        self.quotas.charge(intent.user, cost, finished)
        return self.ledger.statement(row)

    async def _send_terminal(self, intent: LiveIntent, event: intent_pb2.IntentEvent,
                             outcome: list[Statement]) -> None:
        """Send the terminal event once the outcome and its ledger row are recorded. While they cannot be, the
        intent stays live (callers wait for it, a Submit of its request id attaches to it) and the write is
        retried; a realm stopped meanwhile recovers it as unfinished at its next start."""
        retry_s = RETRY_MIN_S
        while True:
            try:
                await self.store.transaction(outcome)
                break
            except StoreError as e:
                if retry_s == RETRY_MIN_S:
                    log.warning("intent %s: its outcome is not recorded yet (%s); kept and retried", intent.id, e)
                if self._closing:
                    return
                await asyncio.sleep(retry_s)
                retry_s = min(2 * retry_s, RETRY_MAX_S)
        self._publish(intent, event)
        self._forget(intent)
        self._changed()

    def _forget(self, intent: LiveIntent) -> None:
        self._live.pop(intent.id, None)
        if intent.request_id:
            self._by_request.pop((intent.user, intent.request_id), None)

    def _arm_deadline(self, intent: LiveIntent) -> None:
        if intent.deadline is not None:
            intent.deadline_timer = asyncio.get_running_loop().call_later(
                max(0.0, intent.deadline - time.time()), self._cancel, intent,
                _error(grpc.StatusCode.DEADLINE_EXCEEDED, "the caller's deadline passed"))

    def _attempt_timed_out(self, intent: LiveIntent, assignment: str) -> None:
        if intent.life.assignment != assignment or not intent.life.active:
            return
        limit = self.cfg.timeouts.for_kind(intent.kind)
        if (worker := self._workers.get(intent.life.worker_id)) is not None:
            self._health(worker, ERROR)
            worker.cancel(assignment, "timed out")
        self._finish(intent, FAILED, error=_error(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"worker {intent.life.worker} did not finish within {limit:g} s (timeouts.{intent.kind})"))

    # ----------------------------------------------------------- converse --

    async def _converse(self, intent: LiveIntent) -> None:
        """transcribe -> chat -> speak, each step an intent of its own on whichever worker serves it.

        Steps carry request ids derived from this intent's id, so after a realm restart the pipeline
        re-attaches to the steps already accepted instead of running them twice.
        """
        request = intent.request.converse
        try:
            heard = await self._step(intent, "transcribe", intent_pb2.IntentRequest(
                model=request.transcribe_model, transcribe=intent_pb2.TranscribeRequest(
                    audio=request.audio, format=request.format, language=request.language)))
            question = heard.transcript.text.strip()
            if not question:
                raise _StepFailed(_error(grpc.StatusCode.INVALID_ARGUMENT, "converse: no speech was heard"))
            if not intent.life.done:  # cancelled while the step's result was on its way: the next step says so
                self._apply(intent, intent.life.progress(intent_pb2.Delta(text=question,
                                                                          stage=intent_pb2.KIND_TRANSCRIBE)))
            chat = intent_pb2.ChatRequest(messages=[*request.history, intent_pb2.ChatMessage(
                role="user", content=question)], max_tokens=request.max_tokens)
            if request.HasField("temperature"):
                chat.temperature = request.temperature
            answer = await self._step(intent, "chat", intent_pb2.IntentRequest(model=request.chat_model, chat=chat))
            if not answer.text.text.strip():
                raise _StepFailed(_error(grpc.StatusCode.INTERNAL, "converse: the chat step gave an empty answer"))
            spoken = await self._step(intent, "speak", intent_pb2.IntentRequest(
                model=request.speak_model, speak=intent_pb2.SpeakRequest(text=answer.text.text, voice=request.voice)))
        except _StepFailed as failure:
            self._finish(intent, FAILED, error=failure.error)
            return
        except RealmError as e:  # a step could not even be accepted (e.g. its queue was full)
            self._finish(intent, FAILED, error=_error(e.code, f"converse: {e.message}"))
            return
        steps = (heard, answer, spoken)
        result = intent_pb2.IntentResult(
            conversation=intent_pb2.Conversation(transcript=heard.transcript, answer=answer.text, audio=spoken.audio),
            kind=to_proto(COMPOSED), worker=spoken.worker, realm=self.name,
            model=" + ".join(step.model for step in steps),
            usage=intent_pb2.Usage(queue_wait_s=sum(step.usage.queue_wait_s for step in steps),
                                   processing_s=sum(step.usage.processing_s for step in steps),
                                   cost=sum(step.usage.cost for step in steps)))
        self._finish(intent, SUCCEEDED, result=result)

    async def _step(self, intent: LiveIntent, kind: str, request: intent_pb2.IntentRequest) -> intent_pb2.IntentResult:
        """Run one step as an intent of the same user, relaying its progress; its result, or _StepFailed."""
        if intent.life.done:
            raise _StepFailed(intent.life.error or _error(grpc.StatusCode.CANCELLED, "cancelled"))
        request.request_id = f"{intent.id}/{kind}"
        intent.step_id = await self.submit(intent.user, request, intent.deadline, metered=False)
        stage = to_proto(kind)
        async for event in self.follow(intent.step_id):
            which = event.WhichOneof("event")
            if which == "result":
                return event.result
            if which == "failed":
                raise _StepFailed(intent_pb2.Error(code=event.failed.code,
                                                   message=f"converse, {kind} step: {event.failed.message}"))
            if intent.life.done:
                continue
            if which == "delta" and kind == "chat":  # the answer streams; the other steps report at their end
                self._apply(intent, intent.life.progress(intent_pb2.Delta(text=event.delta.text, stage=stage)))
            elif which == "delta" and event.delta.HasField("fraction"):
                self._apply(intent, intent.life.progress(intent_pb2.Delta(fraction=event.delta.fraction, stage=stage)))
            elif which in ("started", "retrying", "queued"):
                self._apply(intent, intent.life.relay(which, getattr(event, which)))
        raise _StepFailed(_error(grpc.StatusCode.INTERNAL, f"converse, {kind} step: ended without an outcome"))

    # ------------------------------------------------------------ workers --

    def worker_join(self, hello: worker_link_pb2.WorkerHello, address: str = "") -> ConnectedWorker:
        """Admit a worker (its welcome is the first message queued to it); `address`: the IP it connected from."""
        if hello.protocol != PROTOCOL:
            raise RealmError(grpc.StatusCode.FAILED_PRECONDITION,
                             f"worker speaks WorkerLink protocol {hello.protocol}; this realm speaks {PROTOCOL}")
        if not hello.name.strip():
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, "hello.name is empty")
        if hello.name in self._removed:
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED,
                             f"worker {hello.name} was removed by the sysop (Admin ReadmitWorker lets it back)")
        if hello.max_concurrency < 1:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, "hello.max_concurrency must be at least 1")
        capabilities: dict[str, frozenset[str]] = {}
        for cap in hello.capabilities:
            kind = name_of(cap.kind)
            if kind not in WORKER_KINDS:
                raise RealmError(grpc.StatusCode.INVALID_ARGUMENT,
                                 f"hello names a kind no worker can serve ({cap.kind})")
            capabilities[kind] = capabilities.get(kind, frozenset()) | frozenset(cap.models)
        if not capabilities:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, "hello.capabilities is empty: the worker serves nothing")
        for other in self.workers():
            if other.name == hello.name:
                self.worker_lost(other, "replaced by a new connection with the same name")
        worker = ConnectedWorker(id=uuid.uuid4().hex, name=hello.name, capabilities=capabilities,
                                 max_concurrency=hello.max_concurrency, devices=list(hello.devices),
                                 version=hello.version, last_heartbeat=time.monotonic(), address=address)
        worker.send(worker_link_pb2.RealmMessage(welcome=worker_link_pb2.Welcome(
            worker_id=worker.id, realm=self.name, heartbeat_interval_s=self.cfg.health.heartbeat_interval_s)))
        self._workers[worker.id] = worker
        self.network.joined(worker.name)
        self._changed()
        log.info("worker %s joined: %s, %d slots", worker.name, ", ".join(sorted(capabilities)),
                 worker.max_concurrency)
        self.dispatch()
        return worker

    def worker_lost(self, worker: ConnectedWorker, reason: str) -> None:
        """Take a worker out at once; its running intents go to other workers."""
        if self._workers.pop(worker.id, None) is None:
            return
        self._changed()
        worker.close()
        what = _who(worker)
        if worker.draining and not worker.running:
            log.info("%s left after draining", what)
        else:
            log.warning("%s out: %s", what, reason)
        for assignment, intent_id in worker.running.items():
            intent = self._live.get(intent_id)
            if intent is not None and intent.life.assignment == assignment and intent.life.active:
                worker.shun(intent.avoid)
                self._requeue(intent, f"{what} lost: {reason}")
        worker.running.clear()
        self.dispatch()

    def peer_up(self, peer: ConnectedWorker) -> None:
        """A peer realm's link is up (federation): it is routed to like a worker, by its reports."""
        self._workers[peer.id] = peer
        log.info("peer realm %s up: %s", peer.name, ", ".join(sorted(peer.capabilities)) or "serves nothing now")
        self.dispatch()

    def peer_report(self, peer: ConnectedWorker, healthy: bool) -> None:
        """A peer realm's capacity report arrived: it counts as its heartbeat (and may readmit it)."""
        self._beat(peer, healthy, "")
        self._changed()
        self.dispatch()

    def on_heartbeat(self, worker: ConnectedWorker, heartbeat: worker_link_pb2.Heartbeat) -> None:
        was_available = worker.available
        before = (worker.draining, worker.health.score, worker.devices)
        worker.draining = heartbeat.draining
        if heartbeat.devices:
            worker.devices = list(heartbeat.devices)
        self._beat(worker, heartbeat.healthy, heartbeat.detail)
        if (worker.draining, worker.health.score, worker.devices) != before:  # something a dashboard shows
            self._changed()
        if worker.available and not was_available:
            self.dispatch()

    def _beat(self, worker: ConnectedWorker, healthy: bool, detail: str) -> None:
        """A heartbeat, or a peer's report: it keeps the worker in, and (late or not) feeds its health."""
        now = time.monotonic()
        late = now - worker.last_heartbeat > 1.5 * self.cfg.health.heartbeat_interval_s
        worker.last_heartbeat = now
        self._health_notice(worker, worker.health.heartbeat(healthy, late, now, self.cfg.health.readmit_after_s),
                            detail)

    def on_update(self, worker: ConnectedWorker, assignment_id: str, update: Update) -> None:
        """An executor's report on an assignment: a worker of a peer realm took it, its progress, its end."""
        intent_id = worker.running.get(assignment_id)
        if intent_id is None:
            return  # an assignment the realm no longer expects
        intent = self._live.get(intent_id)
        current = intent is not None and intent.life.assignment == assignment_id and intent.life.active
        if isinstance(update, TakenBy):  # the caller's `started`, naming the peer's worker
            if current:
                self._apply(intent, intent.life.start(update.worker, update.realm, intent.reason))
            return
        if isinstance(update, Progress):
            if current:
                self._apply(intent, intent.life.progress(update.delta))
            return
        del worker.running[assignment_id]
        if current and isinstance(update, Done):
            self._health(worker, SUCCESS)
            self._succeed(intent, update.result, worker)
        elif current and isinstance(update, Failure):
            self._worker_failed(intent, worker, update.error)
        self.dispatch()

    def _succeed(self, intent: LiveIntent, result: intent_pb2.IntentResult, worker: ConnectedWorker) -> None:
        now = time.time()
        started = intent.life.started_at or now
        processing = now - started
        result.kind = to_proto(intent.kind)
        processing = worker.settle(result, processing, self.name)
        result.model = result.model or intent.model
        result.usage.CopyFrom(intent_pb2.Usage(queue_wait_s=started - intent.created_at, processing_s=processing,
                                               cost=intent_cost(self.cfg.costs, intent.kind, processing)))
        self._finish(intent, SUCCEEDED, result=result)

    def _worker_failed(self, intent: LiveIntent, worker: ConnectedWorker, error: intent_pb2.Error) -> None:
        if error.code not in FAILURE_CODES:  # OK or no gRPC code at all: the caller must not read it as either
            error = intent_pb2.Error(code=INTERNAL, message=f"failed with status code {error.code}, which is no "
                                     f"failure: {error.message}")
        if error.code in RETRYABLE:
            worker.shun(intent.avoid)
            self._requeue(intent, f"{_who(worker)}: {error.message}")
            return
        if error.code == TIMED_OUT:
            self._health(worker, ERROR)
        elif error.code != INVALID:  # a bad request is the caller's fault, not the worker's
            self._health(worker, FAILURE)
        self._finish(intent, FAILED,
                     error=intent_pb2.Error(code=error.code, message=f"{_who(worker)}: {error.message}"))

    def _health(self, worker: ConnectedWorker, delta: int) -> None:
        self._health_notice(worker, worker.health.record(delta, time.monotonic()), "")

    def _health_notice(self, worker: ConnectedWorker, transition: Transition | None, detail: str) -> None:
        if transition is Transition.BLACKLISTED:
            text = f"{_who(worker, capital=True)} blacklisted" + (f": {detail}" if detail else "")
            log.warning(text)
            self.notices.publish(text, intents_pb2.NOTICE_LEVEL_WARNING, sysops_only=True)
        elif transition is Transition.READMITTED:
            log.info("%s readmitted", _who(worker, capital=True))
            self.notices.publish(f"{_who(worker, capital=True)} readmitted", sysops_only=True)
            self.dispatch()

    # -------------------------------------------------- the sysop's hand --

    def workers(self) -> list[ConnectedWorker]:
        """This realm's own workers, by name."""
        return sorted((w for w in self._workers.values() if not w.is_peer), key=lambda w: w.name)

    def peers(self) -> list[ConnectedWorker]:
        """Peer realms whose links are up, by name."""
        return sorted((w for w in self._workers.values() if w.is_peer), key=lambda w: w.name)

    def worker_named(self, name: str) -> ConnectedWorker:
        worker = next((w for w in self.workers() if w.name == name), None)
        if worker is None:
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no worker named {name!r} is connected")
        return worker

    def remove_worker(self, name: str) -> ConnectedWorker:
        worker = self.worker_named(name)
        self._removed.add(name)
        self.worker_lost(worker, "removed by the sysop")
        return worker

    def drain_worker(self, name: str) -> ConnectedWorker:
        worker = self.worker_named(name)
        worker.held = True
        self._changed()
        return worker

    def blacklist_worker(self, name: str) -> ConnectedWorker:
        worker = self.worker_named(name)
        self._health_notice(worker, worker.health.blacklist_by_hand(time.monotonic()), "by the sysop")
        self._changed()
        return worker

    def readmit_worker(self, name: str) -> ConnectedWorker | None:
        """Let a removed worker join again; clear a connected one's drain and blacklisting."""
        was_removed = name in self._removed
        self._removed.discard(name)
        worker = next((w for w in self.workers() if w.name == name), None)
        if worker is None:
            if was_removed:
                return None
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no worker named {name!r} is connected or removed")
        worker.held = False
        self._health_notice(worker, worker.health.readmit(), "")
        self._changed()
        self.dispatch()
        return worker

    async def delete_pool(self, name: str) -> int:
        """Delete a pool; what waits for it fails. Returns how many intents failed."""
        await self.pools.delete(name)
        alias = "$" + name.removeprefix("$")
        waiting = [i for i in self._live.values() if i.model == alias and i.state == QUEUED]
        for intent in waiting:
            self._finish(intent, FAILED, error=_error(grpc.StatusCode.NOT_FOUND, f"pool {alias} was deleted"))
        return len(waiting)

    def queue_depth(self, kind: str) -> int:
        return len(self._queues[kind])

    def live_intents(self) -> list[LiveIntent]:
        """Running intents, then queued ones per kind in the order they will start."""
        running = sorted((i for i in self._live.values() if i.state == RUNNING and i.kind != COMPOSED),
                         key=lambda i: i.life.started_at or 0.0)
        return running + [self._live[i] for queue in self._queues.values() for i in queue]

    def queue_loads(self) -> list[tuple[str, int, int]]:
        """(kind, queued, running) for kinds with work."""
        running: dict[str, int] = {}
        for intent in self._live.values():
            if intent.state == RUNNING and intent.kind != COMPOSED:
                running[intent.kind] = running.get(intent.kind, 0) + 1
        return [(kind, len(queue), running.get(kind, 0)) for kind, queue in self._queues.items()
                if len(queue) or running.get(kind)]

    def clear_queue(self, kind: str | None, reason: str) -> int:
        """Cancel every queued intent (of one kind); running ones finish."""
        queued = [self._live[i] for k, queue in self._queues.items() if kind in (None, k) for i in queue]
        for intent in queued:
            self._cancel(intent, _error(grpc.StatusCode.CANCELLED, reason))
        return len(queued)

    # ------------------------------------------------------- housekeeping --

    async def _recover(self) -> None:
        """Queue again what was accepted and unfinished when the realm stopped."""
        rows = await self.store.unfinished()
        composed: list[LiveIntent] = []
        for row in rows:
            self._recover_one(row, composed)
        for intent in composed:
            self._spawn(self._converse(intent), self._pipelines)
        if rows:
            log.info("recovered %d unfinished intents", len(rows))

    def _recover_one(self, row: IntentRow, composed: list[LiveIntent]) -> None:
        request = intent_pb2.IntentRequest.FromString(row.request)
        intent = LiveIntent(id=row.id, user=row.user, kind=row.kind, model=row.model, request=request,
                            created_at=row.created_at, life=Life.recovered(row.id, row.state, row.attempts),
                            deadline=row.deadline)
        self._live[intent.id] = intent
        if intent.request_id:
            self._by_request[(intent.user, intent.request_id)] = intent.id
        self._apply(intent, intent.life.accept())
        if intent.user.startswith(PEER_USER_PREFIX):  # its origin realm saw the link break and re-routed it
            self._finish(intent, CANCELLED, error=_error(
                grpc.StatusCode.UNAVAILABLE, "the realm restarted; the realm that forwarded it routes it again"))
            return
        if intent.kind == COMPOSED:
            self._apply(intent, intent.life.compose(time.time(), retry_reason="the realm restarted"))
            composed.append(intent)  # its pipeline starts once every row is back, so that its steps are found
        elif row.state == RUNNING:
            self._requeue(intent, "the realm restarted")
        else:
            self._queues[intent.kind].push(intent.id, intent.user)
            self._report_positions(intent.kind)
        self._arm_deadline(intent)

    def _reading(self) -> Reading:
        """What the metrics' gauges show now."""
        return Reading(self.queue_loads(), self.workers(), self.presence.now, self.started_at)

    async def _monitor_loop(self) -> None:
        interval = self.cfg.health.heartbeat_interval_s
        next_purge = 0.0
        while True:
            await asyncio.sleep(interval / 2)
            now = time.monotonic()
            limit = interval * self.cfg.health.missed_heartbeats
            for worker in list(self._workers.values()):
                if now - worker.last_heartbeat > limit:
                    self.worker_lost(worker, f"missed {self.cfg.health.missed_heartbeats} heartbeats")
            self._expire_queued()
            if now >= next_purge:  # often enough that nothing outlives its retention by more than half
                next_purge = now + min(60.0, self.cfg.store.result_ttl_s / 2)
                log_failure(self.store.purge_finished(self.cfg.store.result_ttl_s))

    def _expire_queued(self) -> None:
        oldest = time.time() - self.cfg.queue.max_wait_s
        for intent in [i for i in self._live.values() if i.state == QUEUED and i.created_at < oldest]:
            self._finish(intent, FAILED, error=_error(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no worker took this {intent.kind} intent within {self.cfg.queue.max_wait_s:g} s "
                "(queue.max_wait_s)"))


_REALM = Caller("(realm)", SYSOP)
"""The realm itself, following intents it started (converse steps)."""


class _StepFailed(Exception):
    def __init__(self, error: intent_pb2.Error) -> None:
        super().__init__(error.message)
        self.error = error

