"""Pool aliases: `$NAME` names a set of workers of one kind; the realm picks a
member by the pool's strategy, preferring specialised members for prompts
about their topic.

Pools are kept as their `mtor.v1.Pool` messages, in memory and in the store.
"""
from __future__ import annotations

import random
import re
import statistics
from typing import Iterable

import grpc
from mtor_client._proto.mtor.v1 import admin_pb2, intent_pb2
from mtor_client.kinds import WORKER_KINDS, name_of

from ..errors import RealmError, invalid
from ..store import Schema, Store
from ..store.sql import upsert
from .workers import ConnectedWorker

SCHEMA = Schema("pools", ({"sqlite": """
CREATE TABLE IF NOT EXISTS pools (
    name  TEXT PRIMARY KEY,
    pool  BLOB NOT NULL                 -- serialized mtor.v1.Pool
);
""", "postgresql": """
CREATE TABLE IF NOT EXISTS pools (
    name  TEXT PRIMARY KEY,
    pool  BYTEA NOT NULL
);
"""},))
PREFIX = "$"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# the original's rule for `auto`
HEALTH_VARIANCE = 400.0
LOW_MEAN_HEALTH = 70.0


def is_alias(model: str) -> bool:
    return model.startswith(PREFIX)


def prompt_text(request: intent_pb2.IntentRequest) -> str:
    """The words a specialisation matches against."""
    which = request.WhichOneof("payload")
    if which == "chat":
        chat = request.chat
        return chat.prompt or (chat.messages[-1].content if chat.messages else "")
    if which == "speak":
        return request.speak.text
    if which in ("imagine", "vision"):
        return getattr(request, which).prompt
    if which == "embed":
        return " ".join(request.embed.texts)
    return ""


def choose(pool: admin_pb2.Pool, members: list[ConnectedWorker], turn: int) -> ConnectedWorker:
    """One of `members` (those that can take the intent now, in name order) by the pool's strategy."""
    strategy = pool.strategy
    if strategy in (admin_pb2.POOL_STRATEGY_AUTO, admin_pb2.POOL_STRATEGY_UNSPECIFIED):
        strategy = auto_strategy([w.health.score for w in members])
    if strategy == admin_pb2.POOL_STRATEGY_HEALTH:
        return max(members, key=lambda w: w.health.score)
    if strategy == admin_pb2.POOL_STRATEGY_LEAST_BUSY:
        return min(members, key=lambda w: w.load)
    if strategy == admin_pb2.POOL_STRATEGY_RANDOM:
        return random.choice(members)
    return members[turn % len(members)]


def auto_strategy(health: list[int]) -> int:
    if len(health) > 1 and statistics.pvariance(health) > HEALTH_VARIANCE:
        return admin_pb2.POOL_STRATEGY_HEALTH
    if health and statistics.fmean(health) < LOW_MEAN_HEALTH:
        return admin_pb2.POOL_STRATEGY_LEAST_BUSY
    return admin_pb2.POOL_STRATEGY_ROUND_ROBIN


class Pools:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pools: dict[str, admin_pb2.Pool] = {}
        self._turns: dict[str, int] = {}  # round-robin position per pool

    @classmethod
    async def open(cls, store: Store) -> "Pools":
        pools = cls(store)
        for name, blob in await store.fetchall("SELECT name, pool FROM pools"):
            pools._pools[name] = admin_pb2.Pool.FromString(blob)
        return pools

    def all(self) -> list[admin_pb2.Pool]:
        return [self._pools[name] for name in sorted(self._pools)]

    def get(self, alias: str, kind: str) -> admin_pb2.Pool:
        """The pool a `$NAME` model names, checked against the intent's kind."""
        pool = self._pools.get(alias[len(PREFIX):])
        if pool is None:
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no pool named {alias!r}")
        if name_of(pool.kind) != kind:
            raise invalid(f"pool {alias} serves {name_of(pool.kind)}, not {kind}")
        return pool

    async def set(self, pool: admin_pb2.Pool) -> admin_pb2.Pool:
        pool = _checked(pool)
        await self.store.write(upsert("pools", ("name", "pool"), key=("name",)),
                               (pool.name, pool.SerializeToString()))
        self._pools[pool.name] = pool
        return pool

    async def delete(self, name: str) -> None:
        name = name.removeprefix(PREFIX)
        if name in self._pools:
            await self.store.write("DELETE FROM pools WHERE name = ?", (name,))
            if self._pools.pop(name, None) is not None:  # None: a concurrent delete took it meanwhile
                self._turns.pop(name, None)
                return
        raise RealmError(grpc.StatusCode.NOT_FOUND, f"no pool named {PREFIX}{name}")

    def pick(self, pool: admin_pb2.Pool, candidates: Iterable[ConnectedWorker],
             request: intent_pb2.IntentRequest) -> ConnectedWorker | None:
        """The member to run `request` now, or None when no member can."""
        kind = name_of(pool.kind) or ""
        names = set(pool.workers)
        members = sorted((w for w in candidates if w.name in names and w.available and w.free_slots
                          and kind in w.capabilities), key=lambda w: w.name)
        if not members:
            return None
        words = set(re.findall(r"\w+", prompt_text(request).lower()))
        for special in pool.specialisations:
            if words & {k.lower() for k in special.keywords}:
                preferred = [w for w in members if w.name in set(special.workers)]
                if preferred:
                    members = preferred
                    break
        turn = self._turns.get(pool.name, 0)
        self._turns[pool.name] = turn + 1
        return choose(pool, members, turn)

    def aliases(self, kind: str, connected: Iterable[str]) -> list[str]:
        """`$NAME` of the pools of `kind` with a connected member (for Describe)."""
        present = set(connected)
        return [PREFIX + p.name for p in self.all() if name_of(p.kind) == kind and present & set(p.workers)]


def _checked(pool: admin_pb2.Pool) -> admin_pb2.Pool:
    copy = admin_pb2.Pool()
    copy.CopyFrom(pool)
    pool = copy
    pool.name = pool.name.removeprefix(PREFIX)
    if not _NAME.match(pool.name):
        raise invalid(f"pool name {pool.name!r}: use 1-64 letters, digits, . _ -")
    if name_of(pool.kind) not in WORKER_KINDS:
        raise invalid(f"pool kind {pool.kind}: use a kind workers serve ({', '.join(WORKER_KINDS)})")
    if not pool.workers:
        raise invalid("pool.workers is empty")
    if pool.strategy not in admin_pb2.PoolStrategy.values():
        raise invalid(f"pool strategy {pool.strategy} is not a PoolStrategy")
    for special in pool.specialisations:
        if not special.keywords or not special.workers:
            raise invalid(f"specialisation {special.topic!r} needs keywords and workers")
        strangers = set(special.workers) - set(pool.workers)
        if strangers:
            raise invalid(f"specialisation {special.topic!r} names workers outside the pool: "
                          f"{', '.join(sorted(strangers))}")
    return pool
