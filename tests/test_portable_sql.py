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


def test_every_part_has_the_same_tables_on_both_engines(pg_server: PgServer) -> None:
    """Each part's migrations, run on SQLite and on PostgreSQL, make the same tables, columns and indexes: the
    parts' SQL sees one schema on either engine."""
    from federation.hub import SCHEMAS as FEDERATION
    from mtor_server.realm import SCHEMAS
    from mtor_server.store.sqlite import SCHEMA

    schemas = (SCHEMA, *SCHEMAS, *FEDERATION)
    db = sqlite3.connect(":memory:")
    for schema in schemas:
        for version in range(1, schema.version + 1):
            db.executescript(schema.text(version, "sqlite"))
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                             "'sqlite_%' ORDER BY name")]
    on_sqlite = {t: [row[1] for row in db.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    indexes_sqlite = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                                     "name NOT LIKE 'sqlite_%'")}

    async def on_postgresql() -> tuple[dict[str, list[str]], set[str]]:
        admin = await asyncpg.connect(pg_server.url)
        try:
            await admin.execute("DROP DATABASE IF EXISTS schemas")
            await admin.execute("CREATE DATABASE schemas")
        finally:
            await admin.close()
        conn = await asyncpg.connect(pg_server.url.rsplit("/", 1)[0] + "/schemas")
        try:
            for schema in schemas:
                for version in range(1, schema.version + 1):
                    await conn.execute(schema.text(version, "postgresql"))
            columns: dict[str, list[str]] = {}
            for row in await conn.fetch("SELECT table_name, column_name FROM information_schema.columns WHERE "
                                        "table_schema = 'public' ORDER BY table_name, ordinal_position"):
                columns.setdefault(row["table_name"], []).append(row["column_name"])
            indexes = {row["indexname"] for row in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'")}
            return columns, indexes
        finally:
            await conn.close()

    columns, indexes = asyncio.run(on_postgresql())
    assert len(on_sqlite) >= 10 and "intents" in on_sqlite and "forwarded" in on_sqlite
    assert columns == on_sqlite
    assert indexes == indexes_sqlite
