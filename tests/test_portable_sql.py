"""The SQL the realm's parts write (mtor_server/store/sql.py) runs the same on SQLite and on PostgreSQL: the
statements that differed between them (INSERT OR REPLACE, a bare `user`, summed booleans), on both engines."""
from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
from pg import PgServer

from mtor_server.store.sql import numbered, upsert

TABLE = 'CREATE TABLE ledger (intent_id TEXT PRIMARY KEY, "user" TEXT NOT NULL, outcome INTEGER, cost REAL)'
WRITE = upsert("ledger", ("intent_id", "user", "outcome", "cost"), key=("intent_id",))
ROWS = [("i1", "alice", 3, 0.5), ("i2", "bob", 4, 0.0), ("i1", "alice", 4, 0.0), ("i3", "alice", 3, 0.25)]
"""i1 twice: the second write replaces the first in place (one row per intent)."""
TOTALS = ('SELECT "user", COUNT(*), COUNT(*) FILTER (WHERE outcome = ?), SUM(cost) FROM ledger '
          'WHERE "user" != ? GROUP BY "user" ORDER BY "user"')


def test_placeholders_are_numbered_outside_quotes_only() -> None:
    sql = """SELECT '?', "a?" FROM t WHERE x = ? AND y = 'it''s ?' AND z = ?"""
    assert numbered(sql) == """SELECT '?', "a?" FROM t WHERE x = $1 AND y = 'it''s ?' AND z = $2"""


def test_the_parts_sql_gives_the_same_answers_on_sqlite_and_postgresql(pg_server: PgServer) -> None:
    db = sqlite3.connect(":memory:")
    db.execute(TABLE)
    for row in ROWS:
        db.execute(WRITE, row)
    on_sqlite = db.execute(TOTALS, (3, "nobody")).fetchall()

    async def on_postgresql() -> list[tuple]:
        conn = await asyncpg.connect(pg_server.url)
        try:
            await conn.execute("DROP TABLE IF EXISTS ledger")
            await conn.execute(TABLE.replace("REAL", "DOUBLE PRECISION"))
            for row in ROWS:
                await conn.execute(numbered(WRITE), *row)
            return [tuple(r) for r in await conn.fetch(numbered(TOTALS), 3, "nobody")]
        finally:
            await conn.close()

    assert on_sqlite == [("alice", 2, 1, 0.25), ("bob", 1, 0, 0.0)]
    assert asyncio.run(on_postgresql()) == on_sqlite
