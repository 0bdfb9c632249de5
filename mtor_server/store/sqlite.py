"""Durable intent records in SQLite (aiosqlite, WAL).

Writes go through one writer task. A lone write runs as one autocommitted
statement (one trip to aiosqlite's thread, which costs far more here than the
SQL); writes that piled up meanwhile go in one transaction (group commit), so
64 concurrent intents cost a handful of commits, not 64. Each write's future
resolves only after its commit: callers that must not run ahead of the disk
(`accepted`, results) await it.
WAL with synchronous=NORMAL survives a killed process; only an OS crash may
lose the last transactions.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import aiosqlite

log = logging.getLogger("mtor.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    id            TEXT PRIMARY KEY,
    user          TEXT NOT NULL,
    request_id    TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    model         TEXT NOT NULL,
    request       BLOB NOT NULL,          -- serialized mtor.v1.IntentRequest
    state         INTEGER NOT NULL,       -- mtor.v1.IntentState
    attempts      INTEGER NOT NULL DEFAULT 0,
    worker        TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,          -- unix seconds
    started_at    REAL,
    finished_at   REAL,
    deadline      REAL,                   -- unix seconds; the caller's gRPC deadline
    final_seq     INTEGER,                -- seq of the terminal event
    result        BLOB,                   -- serialized mtor.v1.IntentResult
    error_code    INTEGER,
    error_message TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS intents_request_id ON intents(user, request_id) WHERE request_id != '';
CREATE INDEX IF NOT EXISTS intents_unfinished ON intents(state) WHERE finished_at IS NULL;
CREATE INDEX IF NOT EXISTS intents_finished_at ON intents(finished_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_INSERT = ("INSERT INTO intents (id, user, request_id, kind, model, request, state, created_at, deadline) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_STARTED = "UPDATE intents SET state = ?, attempts = ?, worker = ?, started_at = ? WHERE id = ?"
_FINISHED = ("UPDATE intents SET state = ?, attempts = ?, worker = ?, finished_at = ?, final_seq = ?, "
             "result = ?, error_code = ?, error_message = ? WHERE id = ?")
_ORDER = {_INSERT: 0, _STARTED: 1, _FINISHED: 2}
_COLUMNS = ("id, user, request_id, kind, model, request, state, attempts, worker, created_at, started_at, "
            "finished_at, deadline, final_seq, result, error_code, error_message")


def log_failure(future: asyncio.Future[None]) -> None:
    """For writes nobody awaits: log a failure instead of losing it."""
    future.add_done_callback(lambda f: f.cancelled() or f.exception() is None
                             or log.error("store write failed: %s", f.exception()))


@dataclass
class IntentRow:
    id: str
    user: str
    request_id: str
    kind: str
    model: str
    request: bytes
    state: int
    attempts: int
    worker: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    deadline: float | None
    final_seq: int | None
    result: bytes | None
    error_code: int | None
    error_message: str | None


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._pending: list[tuple[str, Sequence[Any], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")
        self._closing = False

    @classmethod
    async def open(cls, path: Path, schemas: Sequence[str] = ()) -> "Store":
        """Open (creating) the database; `schemas` are the other tables' CREATE statements."""
        db = await aiosqlite.connect(path, isolation_level=None)  # autocommit; batches BEGIN themselves
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        for schema in (SCHEMA, *schemas):
            await db.executescript(schema)
        return cls(db)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._writer
        await self._db.close()

    # -- writes (group-committed, in submission order) --

    def write(self, sql: str, params: Sequence[Any] = ()) -> asyncio.Future[None]:
        """Any other table's write, committed with whatever else is pending; resolves after the commit."""
        return self._write(sql, params)

    def _write(self, sql: str, params: Sequence[Any]) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((sql, params, future))
        self._wake.set()
        return future

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)
            if self._closing and not self._pending:
                return

    async def _commit(self, batch: list[tuple[str, Sequence[Any], asyncio.Future[None]]]) -> None:
        try:
            if len(batch) == 1:
                await self._db.execute(batch[0][0], batch[0][1])
            else:
                # Statement by statement (a stable sort keeps each intent's insert, start and finish in
                # order), so that a batch costs one executemany per kind of write, not one per write.
                batch.sort(key=lambda op: _ORDER.get(op[0], len(_ORDER)))
                await self._db.execute("BEGIN")
                i = 0
                while i < len(batch):  # consecutive writes of one statement go in one executemany
                    j = i
                    while j < len(batch) and batch[j][0] == batch[i][0]:
                        j += 1
                    await self._db.executemany(batch[i][0], [params for _, params, _ in batch[i:j]])
                    i = j
                await self._db.execute("COMMIT")
        except Exception as e:  # a broken disk must not leave callers waiting forever
            log.exception("store write failed")
            if self._db.in_transaction:
                await self._db.execute("ROLLBACK")
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for _, _, future in batch:
            if not future.done():
                future.set_result(None)

    def insert(self, *, id: str, user: str, request_id: str, kind: str, model: str, request: bytes,
               state: int, created_at: float, deadline: float | None) -> asyncio.Future[None]:
        return self._write(_INSERT, (id, user, request_id, kind, model, request, state, created_at, deadline))

    def mark_started(self, id: str, *, state: int, attempts: int, worker: str,
                     started_at: float) -> asyncio.Future[None]:
        return self._write(_STARTED, (state, attempts, worker, started_at, id))

    def mark_finished(self, id: str, *, state: int, attempts: int, worker: str, finished_at: float, final_seq: int,
                      result: bytes | None, error_code: int | None, error_message: str | None) -> asyncio.Future[None]:
        return self._write(_FINISHED, (state, attempts, worker, finished_at, final_seq, result, error_code,
                                       error_message, id))

    # -- reads --

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._db.execute(sql, params) as cur:
            return [tuple(row) async for row in cur]

    async def get(self, id: str) -> IntentRow | None:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM intents WHERE id = ?", (id,)) as cur:
            row = await cur.fetchone()
        return IntentRow(*row) if row else None

    async def find_request(self, user: str, request_id: str) -> IntentRow | None:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM intents WHERE user = ? AND request_id = ?",
                                    (user, request_id)) as cur:
            row = await cur.fetchone()
        return IntentRow(*row) if row else None

    async def unfinished(self) -> list[IntentRow]:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM intents WHERE finished_at IS NULL "
                                    "ORDER BY created_at") as cur:
            return [IntentRow(*row) async for row in cur]

    def purge_finished(self, older_than_s: float) -> asyncio.Future[None]:
        """Delete finished intents older than the retention."""
        return self._write("DELETE FROM intents WHERE finished_at < ?", (time.time() - older_than_s,))

    async def next_incarnation(self) -> int:
        """Count realm starts on this database; event seqs are unique across them."""
        async with self._db.execute("SELECT value FROM meta WHERE key = 'incarnation'") as cur:
            row = await cur.fetchone()
        n = int(row[0]) + 1 if row else 0
        await self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?)", (str(n),))
        return n
