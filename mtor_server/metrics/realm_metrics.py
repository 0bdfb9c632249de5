"""The realm's metrics: counted from the Finished events of intents, and gauges read at each scrape from a
reading the realm hands over (it never reads the realm back).

Every series carries the label realm="<realm.name>", so that one Prometheus can scrape several realms.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import grpc
from mtor_client.kinds import KINDS, WORKER_KINDS

from ..lifecycle import CANCELLED, FAILED, SUCCEEDED, Finished
from ..scheduler import ConnectedWorker
from .registry import Counter, Gauge, Histogram, Metric, render

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Seconds: from an echo answer (milliseconds) to the longest default timeout (imagine, 300 s)."""
OUTCOMES = {SUCCEEDED: "succeeded", FAILED: "failed", CANCELLED: "cancelled"}
WORKER_STATES = ("available", "draining", "blacklisted")
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


@dataclass(frozen=True)
class Reading:
    """What the gauges show, read from the realm at a scrape."""

    loads: list[tuple[str, int, int]]
    """(kind, queued, running) for kinds with work."""
    workers: list[ConnectedWorker]
    users: int
    started_at: float


class RealmMetrics:
    """The metric families of one realm; `finished` is called once per finished intent."""

    def __init__(self, realm_name: str, read: Callable[[], Reading]) -> None:
        self._read = read
        const = {"realm": realm_name}
        self.intents = Counter("mtor_intents_total", "Intents finished, by kind and outcome (succeeded, failed, "
                               "cancelled).", ("kind", "outcome"), const)
        self.errors = Counter("mtor_intent_errors_total", "Failed intents, by kind and gRPC status code.",
                              ("kind", "code"), const)
        self.processing = Histogram("mtor_intent_processing_seconds", "Processing time of succeeded intents, in "
                                    "seconds (a converse intent: the sum of its steps').", BUCKETS_S, ("kind",), const)
        self.queue_wait = Histogram("mtor_intent_queue_wait_seconds", "Time from acceptance to the start of the "
                                    "last attempt, in seconds, of finished intents that reached a worker.",
                                    BUCKETS_S, ("kind",), const)
        self.queue_depth = Gauge("mtor_queue_depth", "Intents waiting for a worker, by kind.", ("kind",), const)
        self.running = Gauge("mtor_intents_running", "Intents running on workers, by kind.", ("kind",), const)
        self.workers = Gauge("mtor_workers", "Connected workers by state: available, draining (by itself or by the "
                             "sysop) or blacklisted.", ("state",), const)
        self.slots = Gauge("mtor_worker_slots", "Worker slots: busy (assignments running on any worker) and free "
                           "(open slots on available workers).", ("state",), const)
        self.users = Gauge("mtor_users_connected", "Users with a call open now.", (), const)
        self.uptime = Gauge("mtor_uptime_seconds", "Seconds since the realm started.", (), const)
        self.rpc_refused = Counter("mtor_rpc_refused_total", "Calls answered INVALID_ARGUMENT before any handler "
                                   "saw them, by method and reason: the request did not decode (undecodable) or "
                                   "held a NaN, an infinity or a Timestamp out of range (number).",
                                   ("method", "reason"), const)
        self.rpc_failures = Counter("mtor_rpc_failures_total", "Calls that failed on an exception no handler "
                                    "expected, answered INTERNAL (the realm's log has a traceback at most once a "
                                    "minute per method), by method.", ("method",), const)
        for kind in KINDS:  # every kind and outcome reads 0 from the start rather than appearing later
            for outcome in OUTCOMES.values():
                self.intents.inc(0, kind=kind, outcome=outcome)

    def families(self) -> list[Metric]:
        return [self.intents, self.errors, self.processing, self.queue_wait, self.queue_depth, self.running,
                self.workers, self.slots, self.users, self.uptime, self.rpc_refused, self.rpc_failures]

    def finished(self, kind: str, created_at: float, event: Finished) -> None:
        """Count an intent (of `kind`, accepted at `created_at`) that just reached its outcome."""
        outcome = OUTCOMES.get(event.state)
        if outcome is None:
            return
        self.intents.inc(kind=kind, outcome=outcome)
        if event.state == FAILED:
            code = event.error.code if event.error is not None else grpc.StatusCode.UNKNOWN.value[0]
            self.errors.inc(kind=kind, code=_CODE_NAMES.get(code, str(code)))
        elif event.state == SUCCEEDED and event.result is not None:
            self.processing.observe(event.result.usage.processing_s, kind=kind)
        if kind in WORKER_KINDS and event.started_at is not None:  # converse waits in its steps
            self.queue_wait.observe(max(0.0, event.started_at - created_at), kind=kind)

    def render(self) -> str:
        """The exposition text, with the gauges read from the realm's state now."""
        reading = self._read()
        loads = {kind: (queued, running) for kind, queued, running in reading.loads}
        for kind in WORKER_KINDS:
            queued, running = loads.get(kind, (0, 0))
            self.queue_depth.set(queued, kind=kind)
            self.running.set(running, kind=kind)
        states = dict.fromkeys(WORKER_STATES, 0)
        free = busy = 0
        for worker in reading.workers:
            if worker.health.blacklisted:
                states["blacklisted"] += 1
            elif worker.drained:
                states["draining"] += 1
            else:
                states["available"] += 1
            busy += len(worker.running)
            free += worker.free_slots if worker.available else 0
        for state, n in states.items():
            self.workers.set(n, state=state)
        self.slots.set(free, state="free")
        self.slots.set(busy, state="busy")
        self.users.set(reading.users)
        self.uptime.set(time.time() - reading.started_at)
        return render(self.families())
