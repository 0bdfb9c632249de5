"""Usage between realms. The serving realm's ledger already holds what it served for a peer (rows of the
user "peer:NAME", at its own prices); the origin realm records here what each peer served for it, at the
peer's prices as the peer reported them, with the peer's id of the same intent, so that both realms'
records of each forwarded intent can be laid side by side."""
from __future__ import annotations

from dataclasses import dataclass

from mtor_server.scheduler.route import PEER_USER_PREFIX
from mtor_server.store import Schema, Store
from mtor_server.store.sql import upsert

SCHEMA = Schema("federation_usage", ({"sqlite": """
CREATE TABLE IF NOT EXISTS forwarded (
    attempt       TEXT PRIMARY KEY,     -- this realm's assignment id: intent id / attempt
    intent_id     TEXT NOT NULL,        -- this realm's id of the intent
    peer          TEXT NOT NULL,        -- the peer realm that served it, by its name here
    peer_intent   TEXT NOT NULL,        -- the peer's id of the same intent ('' if it never accepted it)
    outcome       INTEGER NOT NULL,     -- mtor.v1.IntentState at the peer: SUCCEEDED, FAILED or CANCELLED
    processing_s  REAL NOT NULL,        -- as the peer reported it
    cost          REAL NOT NULL,        -- what the peer charged, in its billing unit
    finished_at   REAL NOT NULL         -- unix seconds
);
CREATE INDEX IF NOT EXISTS forwarded_peer ON forwarded(peer, finished_at);
""", "postgresql": """
CREATE TABLE IF NOT EXISTS forwarded (
    attempt       TEXT PRIMARY KEY,
    intent_id     TEXT NOT NULL,
    peer          TEXT NOT NULL,
    peer_intent   TEXT NOT NULL,
    outcome       INTEGER NOT NULL,
    processing_s  DOUBLE PRECISION NOT NULL,
    cost          DOUBLE PRECISION NOT NULL,
    finished_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS forwarded_peer ON forwarded(peer, finished_at);
"""},))


@dataclass(frozen=True)
class Totals:
    intents: int = 0
    succeeded: int = 0
    processing_s: float = 0.0
    cost: float = 0.0


@dataclass(frozen=True)
class PeerUsage:
    peer: str
    served_for_them: Totals
    served_for_us: Totals

_RECORD = upsert("forwarded", ("attempt", "intent_id", "peer", "peer_intent", "outcome", "processing_s", "cost",
                               "finished_at"), key=("attempt",))

class UsageBook:
    def __init__(self, store: Store, succeeded_state: int) -> None:
        self.store = store
        self._succeeded = succeeded_state

    def record(self, attempt: str, intent_id: str, peer: str, peer_intent: str, outcome: int, processing_s: float,
               cost: float, finished_at: float):
        return self.store.write(_RECORD, (attempt, intent_id, peer, peer_intent, outcome, processing_s, cost,
                                          finished_at))

    async def usage(self, since: float = 0.0) -> list[PeerUsage]:
        """Per peer with usage either way, sorted by name."""
        rows = await self.store.fetchall("SELECT peer, COUNT(*), COUNT(*) FILTER (WHERE outcome = ?), "
                                         "SUM(processing_s), SUM(cost) FROM forwarded WHERE finished_at >= ? "
                                         "GROUP BY peer",
                                         (self._succeeded, since))
        for_us = {peer: Totals(n, ok or 0, busy or 0.0, cost or 0.0) for peer, n, ok, busy, cost in rows}
        for_them: dict[str, Totals] = {}
        for user, n, ok, busy, cost in await self.store.fetchall(
                'SELECT "user", COUNT(*), COUNT(*) FILTER (WHERE outcome = ?), SUM(processing_s), SUM(cost) '
                'FROM ledger WHERE substr("user", 1, ?) = ? AND finished_at >= ? GROUP BY "user"',
                (self._succeeded, len(PEER_USER_PREFIX), PEER_USER_PREFIX, since)):
            for_them[user.removeprefix(PEER_USER_PREFIX)] = Totals(n, ok or 0, busy or 0.0, cost or 0.0)
        return [PeerUsage(name, for_them.get(name, Totals()), for_us.get(name, Totals()))
                for name in sorted(set(for_us) | set(for_them))]
