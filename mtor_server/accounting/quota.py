"""Per-user limits: intents per minute (a sliding window) and a cost budget
per period. Both are checked when an intent is submitted; a refusal says
when to retry."""
from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass

import grpc

from mtor_common.config import QuotasSection

from ..errors import RealmError
from ..store import Schema, Store
from ..store.sql import upsert
from .ledger import Ledger

SCHEMA = Schema("quotas", ({"sqlite": """
CREATE TABLE IF NOT EXISTS quotas (
    user                 TEXT PRIMARY KEY,
    requests_per_minute  INTEGER,       -- NULL: the realm's default; 0: no limit
    budget               REAL           -- NULL: the realm's default; 0: no limit
);
""", "postgresql": """
CREATE TABLE IF NOT EXISTS quotas (
    "user"               TEXT PRIMARY KEY,
    requests_per_minute  INTEGER,
    budget               DOUBLE PRECISION
);
"""},))
WINDOW_S = 60.0


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int  # 0: none
    budget: float  # per period; 0: none


@dataclass(frozen=True)
class QuotaStatus:
    limits: Limits
    budget_period_s: float
    spent: float
    period_ends: float


class Quotas:
    def __init__(self, cfg: QuotasSection, store: Store) -> None:
        if cfg.budget_period_s <= 0:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, "quotas.budget_period_s must be above 0")
        self.cfg = cfg
        self.store = store
        self._overrides: dict[str, tuple[int | None, float | None]] = {}
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._period = -1
        self._spent: dict[str, float] = {}

    @classmethod
    async def open(cls, cfg: QuotasSection, store: Store, ledger: Ledger) -> "Quotas":
        quotas = cls(cfg, store)
        for user, rpm, budget in await store.fetchall('SELECT "user", requests_per_minute, budget FROM quotas'):
            quotas._overrides[user] = (rpm, budget)
        quotas._period = quotas._period_of(time.time())
        quotas._spent = await ledger.spent_since(quotas._period * cfg.budget_period_s)
        return quotas

    def _period_of(self, now: float) -> int:
        return math.floor(now / self.cfg.budget_period_s)

    def _roll(self, now: float) -> None:
        period = self._period_of(now)
        if period != self._period:
            self._period, self._spent = period, {}

    def limits(self, user: str) -> Limits:
        rpm, budget = self._overrides.get(user, (None, None))
        return Limits(self.cfg.requests_per_minute if rpm is None else rpm,
                      self.cfg.budget if budget is None else budget)

    def status(self, user: str) -> QuotaStatus:
        now = time.time()
        self._roll(now)
        return QuotaStatus(self.limits(user), self.cfg.budget_period_s, self._spent.get(user, 0.0),
                           (self._period + 1) * self.cfg.budget_period_s)

    def admit(self, user: str) -> None:
        """Count one submission, or refuse it with RESOURCE_EXHAUSTED and when to retry."""
        now = time.time()
        self._roll(now)
        limits = self.limits(user)
        if limits.budget and self._spent.get(user, 0.0) >= limits.budget:
            retry = (self._period + 1) * self.cfg.budget_period_s - now
            raise RealmError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                             f"budget spent: {self._spent[user]:.4f} of {limits.budget:g} this period; "
                             f"it renews in {math.ceil(retry)} s", retry_after_s=retry)
        recent = self._recent[user]
        while recent and recent[0] <= now - WINDOW_S:
            recent.popleft()
        if limits.requests_per_minute and len(recent) >= limits.requests_per_minute:
            retry = recent[0] + WINDOW_S - now
            raise RealmError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                             f"rate limit: {limits.requests_per_minute} intents per minute; "
                             f"retry in {math.ceil(retry)} s", retry_after_s=retry)
        recent.append(now)

    def charge(self, user: str, cost: float, finished_at: float) -> None:
        self._roll(time.time())
        if cost and self._period_of(finished_at) == self._period:
            self._spent[user] = self._spent.get(user, 0.0) + cost

    async def set(self, user: str, requests_per_minute: int | None, budget: float | None) -> QuotaStatus:
        if requests_per_minute is not None and requests_per_minute < 0:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, "requests_per_minute must not be negative")
        if budget is not None and not 0 <= budget < math.inf:  # also NaN
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, f"budget is {budget}; give 0 (no limit) or a "
                             "positive finite cost")
        await self.store.write(upsert("quotas", ("user", "requests_per_minute", "budget"), key=("user",)),
                               (user, requests_per_minute, budget))
        self._overrides[user] = (requests_per_minute, budget)
        return self.status(user)
