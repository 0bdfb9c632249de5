"""The executors of a realm: its workers (join, heartbeats, health, drain, removal) and the peer realms the
federation adds. It knows nothing of intents: what an executor's loss or readiness means for them is the
dispatcher's, told through the two callbacks."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable, Iterable

import grpc
from mtor_client._proto.mtor.v1 import intents_pb2, worker_link_pb2
from mtor_client.kinds import WORKER_KINDS, name_of

from mtor_common.config import HealthSection

from .. import PROTOCOL
from ..changes import Changes
from ..discovery.network import NetworkView
from ..errors import RealmError
from ..health import Transition
from ..notices import NoticeHub
from .executor import Executor, PeerExecutor
from .ranking import ReadyIndex
from .workers import ConnectedWorker

log = logging.getLogger("mtor.realm")


class Registry:
    def __init__(self, cfg: HealthSection, realm_name: str, notices: NoticeHub, network: NetworkView,
                 changes: Changes) -> None:
        self.cfg, self.realm_name, self.notices, self.network, self.changes = (
            cfg, realm_name, notices, network, changes)
        self._workers: dict[str, ConnectedWorker] = {}
        self._named: dict[str, ConnectedWorker] = {}  # the same workers by name: a join is O(1) among 10,000
        self.ranking = ReadyIndex()
        """The workers ready for work, ranked (what BestWorker picks from)."""
        self._peers: dict[str, PeerExecutor] = {}
        self._removed: set[str] = set()  # worker names the sysop removed, refused until readmitted
        self._next_worker_sweep = 0.0
        self.stopping = False
        """Set when the realm stops: the streams it then ends are not workers lost."""
        self.on_ready: Callable[[], None] = lambda: None
        """Called when an executor may take work it could not before (the dispatcher dispatches)."""
        self.on_lost: Callable[[Executor, str], None] = lambda executor, reason: None
        """Called once an executor is out, with what it was running still in `running`."""

    def workers(self) -> list[ConnectedWorker]:
        """This realm's own workers, by name."""
        return sorted(self._workers.values(), key=lambda w: w.name)

    def peers(self) -> list[PeerExecutor]:
        """Peer realms whose links are up, by name."""
        return sorted(self._peers.values(), key=lambda p: p.name)

    def each_worker(self) -> Iterable[ConnectedWorker]:
        """Its workers in no order (what the strategies choose from)."""
        return self._workers.values()

    def each_peer(self) -> Iterable[PeerExecutor]:
        return self._peers.values()

    def all(self) -> Iterable[Executor]:
        yield from self._workers.values()
        yield from self._peers.values()

    def get(self, executor_id: str) -> Executor | None:
        return self._workers.get(executor_id) or self._peers.get(executor_id)

    def ready(self, kind: str) -> bool:
        """Whether any executor could take an intent of `kind` now."""
        return self.ranking.any_ready(kind) or any(
            p.available and p.free_slots and kind in p.capabilities for p in self._peers.values())

    def touched(self, executor: Executor) -> None:
        """Its load, health or readiness may have changed (the dispatcher started or ended an attempt of it)."""
        if isinstance(executor, ConnectedWorker) and self._workers.get(executor.id) is executor:
            self.ranking.update(executor)

    # ------------------------------------------------------------ joining --

    def join(self, hello: worker_link_pb2.WorkerHello, address: str = "") -> ConnectedWorker:
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
        if (other := self._named.get(hello.name)) is not None:
            self.lost(other, "replaced by a new connection with the same name")
        worker = ConnectedWorker(id=uuid.uuid4().hex, name=hello.name, capabilities=capabilities,
                                 max_concurrency=hello.max_concurrency, devices=list(hello.devices),
                                 version=hello.version, last_heartbeat=time.monotonic(), address=address,
                                 takes_batches=hello.takes_batches)
        worker.send(worker_link_pb2.RealmMessage(welcome=worker_link_pb2.Welcome(
            worker_id=worker.id, realm=self.realm_name, heartbeat_interval_s=self.cfg.heartbeat_interval_s,
            takes_batches=True)))
        self._workers[worker.id] = worker
        self._named[worker.name] = worker
        self.ranking.update(worker)
        self.network.joined(worker.name)
        self.changes.changed()
        log.info("worker %s joined: %s, %d slots", worker.name, ", ".join(sorted(capabilities)),
                 worker.max_concurrency)
        self.on_ready()
        return worker

    def lost(self, executor: Executor, reason: str) -> None:
        """Take an executor out at once; what it was running goes elsewhere (on_lost)."""
        if self._workers.pop(executor.id, None) is None and self._peers.pop(executor.id, None) is None:
            return
        if self._named.get(executor.name) is executor:
            del self._named[executor.name]
        if isinstance(executor, ConnectedWorker):
            self.ranking.remove(executor)
        self.changes.changed()
        executor.close()
        if executor.draining and not executor.running:
            log.info("%s left after draining", executor.label())
        else:
            log.warning("%s out: %s", executor.label(), reason)
        self.on_lost(executor, reason)
        executor.running.clear()
        self.on_ready()

    def peer_up(self, peer: PeerExecutor) -> None:
        """A peer realm's link is up (federation): it is routed to like a worker, by its reports."""
        self._peers[peer.id] = peer
        log.info("peer realm %s up: %s", peer.name, ", ".join(sorted(peer.capabilities)) or "serves nothing now")
        self.on_ready()

    def peer_report(self, peer: PeerExecutor, healthy: bool) -> None:
        """A peer realm's capacity report arrived: it counts as its heartbeat (and may readmit it)."""
        self._beat(peer, healthy, "")
        self.changes.changed()
        self.on_ready()

    # ------------------------------------------------------------- health --

    def heartbeat(self, worker: ConnectedWorker, heartbeat: worker_link_pb2.Heartbeat) -> None:
        was_available = worker.available
        before = (worker.draining, worker.health.score, worker.devices)
        worker.draining = heartbeat.draining
        if heartbeat.devices:
            worker.devices = list(heartbeat.devices)
        self._beat(worker, heartbeat.healthy, heartbeat.detail)
        if (worker.draining, worker.health.score, worker.devices) != before:  # something a dashboard shows
            self.changes.changed()
        if worker.available and not was_available:
            self.on_ready()

    def _beat(self, executor: Executor, healthy: bool, detail: str) -> None:
        """A heartbeat, or a peer's report: it keeps the executor in, and (late or not) feeds its health."""
        now = time.monotonic()
        late = now - executor.last_heartbeat > 1.5 * self._interval(executor)
        executor.last_heartbeat = now
        self._health_notice(executor, executor.health.heartbeat(healthy, late, now, self.cfg.readmit_after_s),
                            detail)

    def record(self, executor: Executor, delta: int) -> None:
        """An outcome of its attempt, in health points (health.score)."""
        self._health_notice(executor, executor.health.record(delta, time.monotonic()), "")

    def _health_notice(self, executor: Executor, transition: Transition | None, detail: str) -> None:
        """After every change of its health (and of its draining, which comes with a heartbeat)."""
        self.touched(executor)
        if transition is Transition.BLACKLISTED:
            text = f"{executor.label(capital=True)} blacklisted" + (f": {detail}" if detail else "")
            log.warning(text)
            self.notices.publish(text, intents_pb2.NOTICE_LEVEL_WARNING, sysops_only=True)
        elif transition is Transition.READMITTED:
            log.info("%s readmitted", executor.label(capital=True))
            self.notices.publish(f"{executor.label(capital=True)} readmitted", sysops_only=True)
            self.on_ready()

    def _interval(self, executor: Executor) -> float:
        """Longest time between two of its heartbeats (a peer realm's: its capacity reports)."""
        if isinstance(executor, ConnectedWorker):
            return self.cfg.heartbeat_interval_s
        return self.cfg.peer_report_interval_s

    def sweep(self) -> None:
        """Take out every executor that missed its heartbeats: the few peers at every call, the workers (thousands,
        at a longer interval) once per half of theirs."""
        now = time.monotonic()
        missed = self.cfg.missed_heartbeats
        peer_limit = now - self.cfg.peer_report_interval_s * missed
        late: list[Executor] = [p for p in self._peers.values() if p.last_heartbeat < peer_limit]
        if now >= self._next_worker_sweep:
            self._next_worker_sweep = now + self.cfg.heartbeat_interval_s / 2
            worker_limit = now - self.cfg.heartbeat_interval_s * missed
            late += [w for w in self._workers.values() if w.last_heartbeat < worker_limit]
        for executor in late:
            self.lost(executor, f"missed {missed} heartbeats")

    # -------------------------------------------------- the sysop's hand --

    def worker_named(self, name: str) -> ConnectedWorker:
        worker = self._named.get(name)
        if worker is None:
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no worker named {name!r} is connected")
        return worker

    def remove(self, name: str) -> ConnectedWorker:
        worker = self.worker_named(name)
        self._removed.add(name)
        self.lost(worker, "removed by the sysop")
        return worker

    def drain(self, name: str) -> ConnectedWorker:
        worker = self.worker_named(name)
        worker.held = True
        self.touched(worker)
        self.changes.changed()
        return worker

    def blacklist(self, name: str) -> ConnectedWorker:
        worker = self.worker_named(name)
        self._health_notice(worker, worker.health.blacklist_by_hand(time.monotonic()), "by the sysop")
        self.changes.changed()
        return worker

    def readmit(self, name: str) -> ConnectedWorker | None:
        """Let a removed worker join again; clear a connected one's drain and blacklisting."""
        was_removed = name in self._removed
        self._removed.discard(name)
        worker = self._named.get(name)
        if worker is None:
            if was_removed:
                return None
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no worker named {name!r} is connected or removed")
        worker.held = False
        self._health_notice(worker, worker.health.readmit(), "")
        self.changes.changed()
        self.on_ready()
        return worker

    def close(self) -> None:
        for executor in list(self.all()):
            executor.close()
