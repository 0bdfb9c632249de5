"""Who did what, and when: one row per change made through Admin."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..store import Schema, Store

SCHEMA = Schema("audit", ("""
CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    time    REAL NOT NULL,              -- unix seconds
    actor   TEXT NOT NULL,              -- the sysop
    action  TEXT NOT NULL,              -- Admin method
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
""",))


@dataclass(frozen=True)
class AuditEntry:
    time: float
    actor: str
    action: str
    target: str
    detail: str


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, actor: str, action: str, target: str = "", detail: str = "") -> None:
        await self.store.write("INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                               (time.time(), actor, action, target, detail))

    async def latest(self, limit: int = 100) -> list[AuditEntry]:
        rows = await self.store.fetchall("SELECT time, actor, action, target, detail FROM audit "
                                         "ORDER BY id DESC LIMIT ?", (limit,))
        return [AuditEntry(*row) for row in rows]
