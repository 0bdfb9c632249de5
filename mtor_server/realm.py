"""The realm's composition root: it opens the store, builds the parts with one job each and wires them
together. The services and the federation take from it the parts they need.

    intake (intents/intake.py)          validation, quotas, idempotency; records, then hands over
    book (intents/book.py)              the live intents; writes out every transition (lifecycle.py)
    dispatcher (scheduler/dispatcher.py) queues, strategies over executors, attempts and retries
    registry (scheduler/registry.py)    the executors: workers (join, heartbeats, health) and peer realms
    converse (intents/converse.py)      a composer: submits and follows intents like any client
    recovery (intents/recovery.py)      what was unfinished at the last stop, carried on
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterable

from mtor_common.config import Config

from .accounting import LEDGER_SCHEMA, QUOTA_SCHEMA, Accountant, Ledger, Presence, Quotas
from .admin import AUDIT_SCHEMA, AuditLog
from .auth import Accounts, anonymous_allowed
from .auth.accounts import SCHEMA as ACCOUNTS_SCHEMA
from .changes import Changes
from .describe import Describe
from .discovery.network import NetworkView
from .identity import realm_id
from .intents import converse
from .intents.book import IntentBook
from .intents.intake import Intake
from .intents.recovery import recover
from .lifecycle import SUCCEEDED
from .metrics import Reading, RealmMetrics
from .notices import NoticeHub
from .scheduler.dispatcher import Dispatcher
from .scheduler.pools import SCHEMA as POOL_SCHEMA
from .scheduler.pools import Pools
from .scheduler.registry import Registry
from .scheduler.strategies import BestPeer, BestWorker, PoolMember
from .store import Schema, Store, log_failure

DB_FILE = "mtor.db"


SCHEMAS = (ACCOUNTS_SCHEMA, AUDIT_SCHEMA, LEDGER_SCHEMA, QUOTA_SCHEMA, POOL_SCHEMA)
"""The tables of the realm's parts, beside the store's own (intents)."""

class Realm:
    """The parts of one running realm, as attributes."""

    def __init__(self, cfg: Config, store: Store, incarnation: int, *, realm_id: str, accounts: Accounts,
                 ledger: Ledger, quotas: Quotas, presence: Presence, pools: Pools, network: NetworkView) -> None:
        """Use open(): it loads the stored parts."""
        self.cfg, self.store, self.accounts, self.ledger, self.quotas, self.presence, self.pools, self.network = (
            cfg, store, accounts, ledger, quotas, presence, pools, network)
        self.id = realm_id
        """Stable across restarts (identity.realm_id): how workers and peers know this realm again."""
        self.name = cfg.realm.name
        self.audit = AuditLog(store)
        self.notices = NoticeHub(self.name)
        self.changes = Changes()
        self.book = IntentBook(store, incarnation, self.changes)
        self.registry = Registry(cfg.health, self.name, self.notices, network, self.changes)
        self.dispatcher = Dispatcher(cfg, self.name, realm_id, self.book, self.registry, [
            BestWorker(self.registry), PoolMember(self.registry, pools),
            BestPeer(self.registry, realm_id, cfg.federation.max_hops, cfg.federation.route_map())])
        self.converse = converse.Converse(self.book, self.name)
        self.composers = {converse.KIND: self.converse}
        self.intake = Intake(cfg.realm.max_payload_bytes, store, self.book, self.dispatcher, quotas, pools,
                             self.composers)
        self.describe = Describe(realm_id, self.name, self.registry, self.dispatcher, pools)
        self.metrics = RealmMetrics(self.name, self._reading)
        # at an intent's end, in this order: it leaves its queue (its place is told to those behind it), the
        # ledger's row is written with its outcome, the metrics count it
        self.book.subscribe(Accountant(ledger, quotas, self.name))
        self.book.subscribe(lambda intent, finished: self.metrics.finished(intent.kind, intent.created_at, finished))
        self._housekeeping: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, cfg: Config, data_dir: Path, schemas: Iterable[Schema] = (),
                   network: NetworkView | None = None) -> "Realm":
        """`schemas`: the tables of the parts around the realm (the federation's); `network`: what the realm
        watches of the local network (Admin ListNetwork), none by default."""
        store = await Store.open(data_dir / DB_FILE, schemas=(*SCHEMAS, *schemas))
        try:  # a realm that cannot start closes its store: the store's thread would keep the process alive
            ledger = Ledger(store, SUCCEEDED)
            own_id = realm_id(data_dir)
            realm = cls(cfg, store, await store.next_incarnation(), realm_id=own_id,
                        accounts=await Accounts.open(store, anonymous_allowed(cfg)), ledger=ledger,
                        quotas=await Quotas.open(cfg.quotas, store, ledger), presence=await Presence.open(store),
                        pools=await Pools.open(store), network=network or NetworkView(own_id, None))
            await recover(store, realm.book, realm.dispatcher, realm.composers, realm.intake.submit)
        except BaseException:
            await store.close()
            raise
        realm._housekeeping = asyncio.create_task(realm._housekeeping_loop(), name="realm-housekeeping")
        return realm

    async def close(self) -> None:
        if self._housekeeping:
            self._housekeeping.cancel()
        self.converse.close()
        self.registry.close()
        await self.book.close()
        await self.store.close()

    def _reading(self) -> Reading:
        """What the metrics' gauges show now."""
        return Reading(self.dispatcher.queue_loads(), self.registry.workers(), self.presence.now,
                       self.describe.started_at)

    async def _housekeeping_loop(self) -> None:
        """Executors that missed their heartbeats out, intents that waited too long failed, old results purged."""
        health = self.cfg.health
        step = min(health.heartbeat_interval_s, health.peer_report_interval_s, 2.0) / 2
        next_purge = next_expiry = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(step)
            self.registry.sweep()
            now = loop.time()
            if now >= next_expiry:  # a scan of every live intent: once a second is precise enough
                next_expiry = now + 1.0
                self.dispatcher.expire_queued()
            if now >= next_purge:  # often enough that nothing outlives its retention by half
                next_purge = now + min(60.0, self.cfg.store.result_ttl_s / 2)
                log_failure(self.store.purge_finished(self.cfg.store.result_ttl_s))
