"""Durable intent records in SQLite (aiosqlite, WAL).

Writes go through one writer task. Each batch costs one trip to aiosqlite's
thread, which costs far more here than the SQL: a lone write runs as one
autocommitted statement, and writes that piled up meanwhile go in one
transaction (group commit), so 64 concurrent intents cost a handful of
commits, not 64. Each write's future
resolves only after its commit: callers that must not run ahead of the disk
(`accepted`, results) await it. A write is one statement or several that
commit together (`transaction`); when a group commit fails, its writes are
tried again one by one, so that only the write at fault fails.
WAL with synchronous=NORMAL survives a killed process; only an OS crash may
lose the last transactions. The WAL is checkpointed often and truncated after a
failed write, so that a small disk that was full recovers once space is freed.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import aiosqlite

from .schema import VERSIONS_TABLE, Schema, SchemaTooNew, pending
from .sql import META_WRITE

log = logging.getLogger("mtor.store")

SCHEMA = Schema("intents", ({"sqlite": """
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
""", "postgresql": """
CREATE TABLE IF NOT EXISTS intents (
    id            TEXT PRIMARY KEY,
    "user"        TEXT NOT NULL,
    request_id    TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    model         TEXT NOT NULL,
    request       BYTEA NOT NULL,
    state         INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    worker        TEXT NOT NULL DEFAULT '',
    created_at    DOUBLE PRECISION NOT NULL,
    started_at    DOUBLE PRECISION,
    finished_at   DOUBLE PRECISION,
    deadline      DOUBLE PRECISION,
    final_seq     BIGINT,
    result        BYTEA,
    error_code    INTEGER,
    error_message TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS intents_request_id ON intents("user", request_id) WHERE request_id != '';
CREATE INDEX IF NOT EXISTS intents_unfinished ON intents(state) WHERE finished_at IS NULL;
CREATE INDEX IF NOT EXISTS intents_finished_at ON intents(finished_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""},))

_INSERT = ('INSERT INTO intents (id, "user", request_id, kind, model, request, state, created_at, deadline) '
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_STARTED = "UPDATE intents SET state = ?, attempts = ?, worker = ?, started_at = ? WHERE id = ?"
_FINISHED = ("UPDATE intents SET state = ?, attempts = ?, worker = ?, finished_at = ?, final_seq = ?, "
             "result = ?, error_code = ?, error_message = ? WHERE id = ?")
_ORDER = {_INSERT: 0, _STARTED: 1, _FINISHED: 2}
_COLUMNS = ('id, "user", request_id, kind, model, request, state, attempts, worker, created_at, started_at, '
            "finished_at, deadline, final_seq, result, error_code, error_message")
# Checkpoint the WAL every 256 pages (1 MiB; SQLite's default is 1000) and keep at most 1 MiB of it after one:
# a data dir on a volume of a few MiB never fills up with a WAL waiting for its checkpoint.
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA wal_autocheckpoint=256",
            f"PRAGMA journal_size_limit={1 << 20}")

Statement = tuple[str, Sequence[Any]]
"""One SQL statement and its parameters."""


class StoreError(Exception):
    """The database cannot be opened or written; the message names the file and SQLite's reason."""


class IntegrityError(StoreError):
    """A write broke a constraint (a duplicate key): that write alone failed."""


def _failure(path: Path, error: sqlite3.Error) -> StoreError:
    """SQLite's reason, and for a disk that fails what space is left on it (a full disk is often reported as
    a disk I/O error)."""
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(str(error))
    text = f"{path}: {error}"
    name = getattr(error, "sqlite_errorname", "")
    if name.startswith(("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN")):
        try:
            text += f" ({name}; {shutil.disk_usage(path.parent).free // 1024} KiB free on its volume)"
        except OSError:
            pass
    return StoreError(text)


async def _checkpoint(db: aiosqlite.Connection) -> None:
    """Move what the WAL holds into the database and truncate it: on a full disk the WAL may hold the space
    that the next writes need. A checkpoint that fails (the disk is still full) leaves the WAL as it was."""
    try:
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass


async def _migrate(db: aiosqlite.Connection, schemas: Sequence[Schema]) -> None:
    """Run the migrations the database lacks, each with its new version in one transaction (SQLite's DDL is
    transactional: a migration that fails leaves the version it found)."""
    async with db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'intents'") as cur:
        existing = (await cur.fetchone())[0] > 0  # type: ignore[index]
    await db.execute(VERSIONS_TABLE)
    async with db.execute("SELECT part, version FROM schema_versions") as cur:
        stored = {part: version async for part, version in cur}
    for schema, version in pending(schemas, stored):
        await db.executescript(f"BEGIN;\n{schema.text(version, 'sqlite')}\n"
                               f"INSERT OR REPLACE INTO schema_versions (part, version) "
                               f"VALUES ('{schema.part}', {version});\nCOMMIT;")
        if existing:
            log.info("store: %s upgraded to schema version %d", schema.part, version)


def log_failure(future: asyncio.Future[None]) -> None:
    """For writes nobody awaits: log a failure instead of losing it (the store has said the disk fails)."""
    future.add_done_callback(lambda f: f.cancelled() or f.exception() is None
                             or log.debug("store write failed: %s", f.exception()))


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


def _run_batch(db: sqlite3.Connection, statements: list[Statement]) -> None:
    """On the connection's thread: one statement autocommitted, or all in one transaction."""
    if len(statements) == 1:
        db.execute(*statements[0])
        return
    db.execute("BEGIN")
    i = 0
    while i < len(statements):  # consecutive writes of one statement go in one executemany
        j = i
        while j < len(statements) and statements[j][0] == statements[i][0]:
            j += 1
        db.executemany(statements[i][0], [params for _, params in statements[i:j]])
        i = j
    db.execute("COMMIT")


@dataclass
class _Write:
    statements: Sequence[Statement]
    future: asyncio.Future[None]


class Store:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._pending: list[_Write] = []
        self._wake = asyncio.Event()
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")
        self._closing = False
        self.failing: str = ""
        """Why the last commit failed; empty while writes succeed."""

    @classmethod
    async def open(cls, path: Path, schemas: Sequence[Schema] = ()) -> "Store":
        """Open (creating) the database, and bring its tables and the other parts' (`schemas`) to the versions
        this realm knows. StoreError if it cannot be opened, or holds a newer schema; nothing is left running."""
        try:
            db = await aiosqlite.connect(path, isolation_level=None)  # autocommit; batches BEGIN themselves
        except sqlite3.Error as e:
            raise _failure(path, e) from None
        try:
            for pragma in _PRAGMAS:
                await db.execute(pragma)
            await _checkpoint(db)  # what a full disk left in the WAL
            await _migrate(db, (SCHEMA, *schemas))
        except BaseException as e:
            await db.close()  # its thread would keep the process alive
            if isinstance(e, sqlite3.Error):
                raise _failure(path, e) from None
            if isinstance(e, SchemaTooNew):
                raise StoreError(f"{path} was written by a newer release of MTOR ({e}); run that release, or "
                                 "a copy of the data dir from before it") from None
            raise
        return cls(db, path)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._writer
        await self._db.close()

    # -- writes (group-committed, in submission order) --

    def write(self, sql: str, params: Sequence[Any] = ()) -> asyncio.Future[None]:
        """Any other table's write, committed with whatever else is pending; resolves after the commit."""
        return self.transaction([(sql, params)])

    def transaction(self, statements: Sequence[Statement]) -> asyncio.Future[None]:
        """Statements that commit together or not at all; resolves after the commit, or raises StoreError
        (IntegrityError for a broken constraint). The same statements may be passed again to retry."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Write(statements, future))
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

    async def _commit(self, batch: list[_Write]) -> None:
        try:
            await self._run(batch)
        except sqlite3.Error as e:
            await self._rollback()
            if len(batch) == 1:
                self._failed(batch, e)
            else:  # the group failed: one by one, so that one bad write does not fail the rest
                for write in batch:
                    try:
                        await self._run([write])
                    except sqlite3.Error as e:
                        await self._rollback()
                        self._failed([write], e)
                    else:
                        self._succeeded([write])
            if self.failing:
                await _checkpoint(self._db)
            return
        self._succeeded(batch)

    async def _run(self, batch: list[_Write]) -> None:
        statements = [statement for write in batch for statement in write.statements]
        if len(statements) > 1:
            # Statement by statement (a stable sort keeps each intent's insert, start and finish in order, and
            # other statements after them in their order), so that a batch costs one executemany per kind of
            # write, not one per write.
            statements.sort(key=lambda statement: _ORDER.get(statement[0], len(_ORDER)))
        # The whole batch in one trip to the connection's thread, where aiosqlite runs every call in order:
        # its `_execute` is how its own methods get there (a trip per statement plus BEGIN and COMMIT made an
        # outcome's write four trips; bench_core measured the difference).
        await self._db._execute(_run_batch, self._db._conn, statements)

    async def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite rolled back by itself

    def _succeeded(self, batch: list[_Write]) -> None:
        if self.failing:
            log.warning("store writes succeed again (%s)", self.path)
            self.failing = ""
        for write in batch:
            if not write.future.done():
                write.future.set_result(None)

    def _failed(self, batch: list[_Write], error: sqlite3.Error) -> None:
        failure = _failure(self.path, error)
        if not isinstance(failure, IntegrityError) and self.failing != str(error):
            log.error("store writes fail: %s", failure)  # once when writes start failing, not once per write
            self.failing = str(error)
        for write in batch:
            if not write.future.done():
                write.future.set_exception(failure)


    def insert(self, *, id: str, user: str, request_id: str, kind: str, model: str, request: bytes,
               state: int, created_at: float, deadline: float | None) -> asyncio.Future[None]:
        return self.write(_INSERT, (id, user, request_id, kind, model, request, state, created_at, deadline))

    def mark_started(self, id: str, *, state: int, attempts: int, worker: str,
                     started_at: float) -> asyncio.Future[None]:
        return self.write(_STARTED, (state, attempts, worker, started_at, id))

    @staticmethod
    def finished(id: str, *, state: int, attempts: int, worker: str, finished_at: float, final_seq: int,
                 result: bytes | None, error_code: int | None, error_message: str | None) -> Statement:
        """The statement that records an intent's outcome, for a `transaction` with its ledger row."""
        return _FINISHED, (state, attempts, worker, finished_at, final_seq, result, error_code, error_message, id)

    # -- reads --

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            async with self._db.execute(sql, params) as cur:
                return [tuple(row) async for row in cur]
        except sqlite3.Error as e:
            raise _failure(self.path, e) from None

    async def get(self, id: str) -> IntentRow | None:
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM intents WHERE id = ?", (id,))
        return IntentRow(*rows[0]) if rows else None

    async def find_request(self, user: str, request_id: str) -> IntentRow | None:
        rows = await self.fetchall(f'SELECT {_COLUMNS} FROM intents WHERE "user" = ? AND request_id = ?',
                                   (user, request_id))
        return IntentRow(*rows[0]) if rows else None

    async def unfinished(self) -> list[IntentRow]:
        rows = await self.fetchall(f"SELECT {_COLUMNS} FROM intents WHERE finished_at IS NULL ORDER BY created_at")
        return [IntentRow(*row) for row in rows]

    def purge_finished(self, older_than_s: float) -> asyncio.Future[None]:
        """Delete finished intents older than the retention."""
        return self.write("DELETE FROM intents WHERE finished_at < ?", (time.time() - older_than_s,))

    async def next_incarnation(self) -> int:
        """Count realm starts on this database; event seqs are unique across them."""
        rows = await self.fetchall("SELECT value FROM meta WHERE key = 'incarnation'")
        n = int(rows[0][0]) + 1 if rows else 0
        await self.write(META_WRITE, ("incarnation", str(n)))
        return n
