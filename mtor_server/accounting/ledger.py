"""The ledger: one row per finished intent, written before its outcome is
sent, so that nothing served goes unaccounted. Usage reports are sums over it."""
from __future__ import annotations

from dataclasses import dataclass

from ..store import Schema, Statement, Store
from ..store.sql import upsert

SCHEMA = Schema("ledger", ({"sqlite": """
CREATE TABLE IF NOT EXISTS ledger (
    intent_id     TEXT PRIMARY KEY,
    user          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    model         TEXT NOT NULL,
    worker        TEXT NOT NULL,        -- last worker to run it; empty if none did
    realm         TEXT NOT NULL,        -- realm that served it
    queue_wait_s  REAL NOT NULL,        -- recorded, never billed
    processing_s  REAL NOT NULL,
    cost          REAL NOT NULL,        -- 0 unless it succeeded
    outcome       INTEGER NOT NULL,     -- mtor.v1.IntentState: SUCCEEDED, FAILED or CANCELLED
    finished_at   REAL NOT NULL         -- unix seconds
);
CREATE INDEX IF NOT EXISTS ledger_user_finished ON ledger(user, finished_at);
""", "postgresql": """
CREATE TABLE IF NOT EXISTS ledger (
    intent_id     TEXT PRIMARY KEY,
    "user"        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    model         TEXT NOT NULL,
    worker        TEXT NOT NULL,
    realm         TEXT NOT NULL,
    queue_wait_s  DOUBLE PRECISION NOT NULL,
    processing_s  DOUBLE PRECISION NOT NULL,
    cost          DOUBLE PRECISION NOT NULL,
    outcome       INTEGER NOT NULL,
    finished_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_user_finished ON ledger("user", finished_at);
"""},))


@dataclass(frozen=True)
class LedgerRow:
    intent_id: str
    user: str
    kind: str
    model: str
    worker: str
    realm: str
    queue_wait_s: float
    processing_s: float
    cost: float
    outcome: int
    finished_at: float


@dataclass(frozen=True)
class KindTotals:
    kind: str
    intents: int
    succeeded: int
    processing_s: float
    queue_wait_s: float
    cost: float
    mean_service_s: float


_WRITE = upsert("ledger", ("intent_id", "user", "kind", "model", "worker", "realm", "queue_wait_s", "processing_s",
                          "cost", "outcome", "finished_at"), key=("intent_id",))
_TOTALS = ("SELECT kind, COUNT(*), COUNT(*) FILTER (WHERE outcome = ?), SUM(processing_s), SUM(queue_wait_s), "
           "SUM(cost), AVG(CASE WHEN outcome = ? THEN processing_s END) FROM ledger {where} "
           "GROUP BY kind ORDER BY kind")


class Ledger:
    def __init__(self, store: Store, succeeded_state: int) -> None:
        self.store = store
        self._succeeded = succeeded_state

    @staticmethod
    def statement(row: LedgerRow) -> Statement:
        """The row's write, for a transaction with the intent's outcome (both commit, or neither)."""
        # an upsert: an intent finished again after a restart lost its first outcome's send keeps one row
        return (_WRITE, (row.intent_id, row.user, row.kind, row.model, row.worker, row.realm, row.queue_wait_s,
                         row.processing_s, row.cost, row.outcome, row.finished_at))

    async def totals(self, user: str | None = None) -> list[KindTotals]:
        """Per kind: of one user, or (None) of everyone."""
        where, params = ('WHERE "user" = ?', (user,)) if user is not None else ("", ())
        rows = await self.store.fetchall(_TOTALS.format(where=where), (self._succeeded, self._succeeded, *params))
        return [KindTotals(kind, n, ok or 0, busy or 0.0, waited or 0.0, cost or 0.0, mean or 0.0)
                for kind, n, ok, busy, waited, cost, mean in rows]

    async def users(self) -> list[str]:
        return [row[0] for row in await self.store.fetchall('SELECT DISTINCT "user" FROM ledger ORDER BY "user"')]

    async def spent_since(self, since: float) -> dict[str, float]:
        rows = await self.store.fetchall('SELECT "user", SUM(cost) FROM ledger WHERE finished_at >= ? GROUP BY "user"',
                                         (since,))
        return {user: cost or 0.0 for user, cost in rows}
