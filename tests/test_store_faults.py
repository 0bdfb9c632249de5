"""Store faults: nothing is told before it is recorded, nothing is billed twice, and the realm recovers by
itself once writes succeed again. Real SQLite, and real realm processes on a disk that fills up
(tests/smalldisk.py: a tmpfs in a mount namespace of its own, no root needed)."""
from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from harness import Realm, spawn, start_realm
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc
from smalldisk import SmallDisk

from mtor_server.store import IntegrityError, Store, StoreError

SUCCEEDED = intent_pb2.INTENT_STATE_SUCCEEDED


# ------------------------------------------------------------------ the store alone --

def _insert(store: Store, id: str, request_id: str = "", user: str = "u") -> asyncio.Future[None]:
    return store.insert(id=id, user=user, request_id=request_id, kind="chat", model="", request=b"", state=1,
                        created_at=time.time(), deadline=None)


async def _ids(store: Store) -> list[str]:
    return [row[0] for row in await store.fetchall("SELECT id FROM intents ORDER BY id")]


def test_a_constraint_failure_fails_only_its_own_write_in_a_group_commit(tmp_path: Path) -> None:
    async def main() -> None:
        store = await Store.open(tmp_path / "mtor.db")
        await _insert(store, "a", request_id="r1")
        # queued without an await in between: one group commit holding a duplicate request id
        writes = [_insert(store, "b"), _insert(store, "dup", request_id="r1"), _insert(store, "c"),
                  store.transaction([Store.finished("a", state=SUCCEEDED, attempts=1, worker="w", finished_at=1.0,
                                                    final_seq=9, result=b"ok", error_code=None,
                                                    error_message=None)])]
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        assert [type(o) for o in outcomes] == [type(None), IntegrityError, type(None), type(None)]
        assert await _ids(store) == ["a", "b", "c"]
        assert (await store.get("a")).result == b"ok"
        assert store.failing == ""  # a constraint is the write's own fault, not the disk's
        await store.close()

    asyncio.run(main())


def test_a_transaction_commits_all_of_its_statements_or_none(tmp_path: Path) -> None:
    async def main() -> None:
        store = await Store.open(tmp_path / "mtor.db")
        await _insert(store, "a")
        with pytest.raises(IntegrityError):
            await store.transaction([
                Store.finished("a", state=SUCCEEDED, attempts=1, worker="w", finished_at=1.0, final_seq=1,
                               result=b"ok", error_code=None, error_message=None),
                ("INSERT INTO intents (id, user, kind, model, request, state, created_at) "
                 "VALUES ('a', 'u', 'chat', '', x'', 1, 0)", ())])
        assert (await store.get("a")).finished_at is None
        await store.close()

    asyncio.run(main())


def test_a_full_database_fails_writes_clearly_and_recovers_when_space_is_back(tmp_path: Path) -> None:
    async def main() -> None:
        store = await Store.open(tmp_path / "mtor.db")
        pages = (await store.fetchall("PRAGMA page_count"))[0][0]
        await store.write(f"PRAGMA max_page_count = {pages}")  # SQLite's own cap: "full" at this size
        big = [store.write("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{i}", "x" * 4000)) for i in range(8)]
        outcomes = await asyncio.gather(*big, return_exceptions=True)
        failed = [o for o in outcomes if o is not None]
        assert len(failed) >= 6 and all(isinstance(o, StoreError) and "full" in str(o) for o in failed), outcomes
        assert "full" in store.failing
        await store.write(f"PRAGMA max_page_count = {pages + 100}")
        await store.write("INSERT INTO meta (key, value) VALUES ('k', ?)", ("x" * 4000,))
        assert store.failing == ""
        assert len(await store.fetchall("SELECT key FROM meta WHERE key LIKE 'k%'")) == len(outcomes) - len(failed) + 1
        await store.close()

    asyncio.run(main())


# ------------------------------------------------------------- realms on a small disk --

@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    space = SmallDisk(tmp_path / "data", "3m")
    try:
        yield space
    finally:
        space.stop()


class OnDisk:
    """Realms started one after another on the small disk."""

    def __init__(self, disk: SmallDisk, tmp_path: Path) -> None:
        self.disk, self.logs, self.realms, self.n = disk, tmp_path, [], 0

    def start(self, listen: str = "127.0.0.1:0") -> Realm:
        self.n += 1
        realm = start_realm(self.disk.mountpoint, listen=listen, log_name=f"realm-{self.n}.log",
                            prefix=self.disk.prefix)
        self.realms.append(realm)
        return realm

    def ledger(self) -> dict[str, int]:
        """intent id -> rows in the ledger (read with the realm stopped, from a copy: SQLite would resolve
        /proc/PID/root to the path outside the namespace)."""
        copy = self.logs / "copy"
        copy.mkdir(exist_ok=True)
        for name in ("mtor.db", "mtor.db-wal"):
            if self.disk.path(name).exists():
                shutil.copyfile(self.disk.path(name), copy / name)
        with contextlib.closing(sqlite3.connect(copy / "mtor.db")) as db:
            return dict(db.execute("SELECT intent_id, COUNT(*) FROM ledger GROUP BY intent_id").fetchall())

    def stop(self) -> None:
        for realm in self.realms:
            if realm.proc.alive():
                realm.proc.popen.kill()
                realm.proc.popen.wait(10)


@pytest.fixture
def on_disk(disk: SmallDisk, tmp_path: Path) -> Iterator[OnDisk]:
    realms = OnDisk(disk, tmp_path)
    try:
        yield realms
    finally:
        realms.stop()


def _chat(prompt: str, request_id: str = "") -> intents_pb2.SubmitRequest:
    return intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
        request_id=request_id, chat=intent_pb2.ChatRequest(prompt=prompt)))


class Caller:
    """One Submit stream, its events kept as they come."""

    def __init__(self, stub: intents_pb2_grpc.IntentsStub, request: intents_pb2.SubmitRequest) -> None:
        self.events: list[intent_pb2.IntentEvent] = []
        self.error: grpc.RpcError | None = None
        self.task = asyncio.create_task(self._run(stub, request))

    async def _run(self, stub: intents_pb2_grpc.IntentsStub, request: intents_pb2.SubmitRequest) -> None:
        try:
            async for event in stub.Submit(request, timeout=60):
                self.events.append(event)
        except grpc.RpcError as e:
            self.error = e

    def which(self) -> list[str]:
        return [e.WhichOneof("event") for e in self.events]

    @property
    def intent_id(self) -> str:
        return self.events[0].accepted.intent_id if self.events and self.events[0].HasField("accepted") else ""

    def outcomes(self) -> list[intent_pb2.IntentEvent]:
        return [e for e in self.events if e.WhichOneof("event") in ("result", "failed")]


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def test_outcomes_are_told_only_once_recorded_and_the_realm_recovers_when_the_disk_has_room(
        on_disk: OnDisk, cluster) -> None:
    realm = on_disk.start()
    cluster.worker(realm, "w1", delay=0.25, concurrency=8)  # four chunks: done in about a second
    n = 6

    async def main() -> list[str]:
        async with grpc.aio.insecure_channel(realm.address) as channel:
            stub = intents_pb2_grpc.IntentsStub(channel)
            callers = [Caller(stub, _chat(f"hello {i}", f"req-{i}")) for i in range(n)]
            await _until(lambda: all("started" in c.which() for c in callers), 10, "every intent to start")
            on_disk.disk.fill()
            await asyncio.sleep(2.5)  # the worker has long finished: the outcomes are waiting for the disk
            assert [c.outcomes() for c in callers] == [[]] * n, "an outcome was told before it was recorded"
            with pytest.raises(grpc.RpcError) as refused:
                async for _ in stub.Submit(_chat("while full"), timeout=10):
                    pass
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
            assert "could not record" in refused.value.details()
            on_disk.disk.free()
            await asyncio.gather(*(c.task for c in callers))
            for c in callers:
                assert c.error is None and len(c.outcomes()) == 1, (c.which(), c.error)
                assert c.outcomes()[0].result.text.text.startswith("echo: hello")
            # served again at once, with no restart
            events = [e async for e in stub.Submit(_chat("after"), timeout=10)]
            assert events[-1].HasField("result")
            return [c.intent_id for c in callers]

    ids = asyncio.run(main())
    assert "outcome is not recorded yet" in realm.proc.output()
    assert realm.proc.terminate() == 0
    again = on_disk.start(listen=realm.address)  # told outcomes survive a restart, run once, billed once

    async def recorded() -> list[intents_pb2.IntentInfo]:
        async with grpc.aio.insecure_channel(again.address) as channel:
            stub = intents_pb2_grpc.IntentsStub(channel)
            return [(await stub.Get(intents_pb2.GetRequest(intent_id=i), timeout=5)).intent for i in ids]

    infos = asyncio.run(recorded())
    assert [(i.state, i.attempts) for i in infos] == [(SUCCEEDED, 1)] * n
    assert again.proc.terminate() == 0
    ledger = on_disk.ledger()
    assert all(ledger.get(i) == 1 for i in ids), ledger
    # the intent refused while the disk was full ran on the worker meanwhile (dispatch overlaps the insert's
    # commit), and left no trace: only the told ones and "after" are billed
    assert len(ledger) == n + 1, ledger


def test_outcomes_not_recorded_when_the_realm_stops_run_once_more_and_are_billed_once(
        on_disk: OnDisk, cluster) -> None:
    realm = on_disk.start()
    cluster.worker(realm, "w1", delay=0.1, concurrency=8)
    n = 4

    async def until_done_unrecorded() -> list[str]:
        async with grpc.aio.insecure_channel(realm.address) as channel:
            stub = intents_pb2_grpc.IntentsStub(channel)
            callers = [Caller(stub, _chat(f"hi {i}")) for i in range(n)]
            await _until(lambda: all("started" in c.which() for c in callers), 10, "every intent to start")
            on_disk.disk.fill()
            await asyncio.sleep(1.5)
            assert [c.outcomes() for c in callers] == [[]] * n
            return [c.intent_id for c in callers]

    ids = asyncio.run(until_done_unrecorded())
    assert realm.proc.terminate(timeout=20) == 0  # stops although its outcomes cannot be written
    on_disk.disk.free()
    again = on_disk.start(listen=realm.address)

    async def followed() -> list[list[intent_pb2.IntentEvent]]:
        async with grpc.aio.insecure_channel(again.address) as channel:
            stub = intents_pb2_grpc.IntentsStub(channel)
            return [[e async for e in stub.Watch(intents_pb2.WatchRequest(intent_id=i), timeout=30)] for i in ids]

    for events in asyncio.run(followed()):  # a caller re-attaching gets one outcome
        outcomes = [e for e in events if e.WhichOneof("event") in ("result", "failed")]
        assert len(outcomes) == 1 and outcomes[0].HasField("result"), events
    assert again.proc.terminate() == 0
    ledger = on_disk.ledger()
    assert all(ledger.get(i) == 1 for i in ids), ledger


def test_a_realm_that_cannot_write_its_database_at_start_exits_with_one_clear_line(on_disk: OnDisk) -> None:
    realm = on_disk.start()
    assert realm.proc.terminate() == 0
    on_disk.disk.fill()
    for _ in range(2):  # its first write, then the config file it would create
        proc = spawn(
            ["realm", "--listen", "127.0.0.1:0", "--data-dir", str(on_disk.disk.mountpoint)],
            on_disk.logs / "failing.log", None, on_disk.disk.prefix)
        assert proc.popen.wait(30) == 1
        out = proc.output()
        assert "Traceback" not in out
        lines = [line for line in out.splitlines() if line.startswith("mtor: ")]
        assert len(lines) == 1 and "cannot run" in lines[0], out
        assert "database or disk is full" in lines[0] or "0 KiB free" in lines[0] or "No space" in lines[0], out
        on_disk.disk.path("mtor.toml").unlink()


def test_a_realm_on_a_two_megabyte_disk_keeps_serving(tmp_path: Path, cluster) -> None:
    """Its WAL is checkpointed long before it could fill the disk. With SQLite's default (a checkpoint once the
    WAL holds 4 MB) the disk was full after about 400 intents."""
    disk = SmallDisk(tmp_path / "small", "2m")
    try:
        realm = start_realm(disk.mountpoint, prefix=disk.prefix)
        cluster.procs.append(realm.proc)
        cluster.worker(realm, "w1", concurrency=8)

        async def main() -> int:
            async with grpc.aio.insecure_channel(realm.address) as channel:
                stub = intents_pb2_grpc.IntentsStub(channel)

                async def one(i: int) -> bool:
                    events = [e async for e in stub.Submit(_chat(f"hello {i}"), timeout=30)]
                    return events[-1].HasField("result")

                served = 0
                for start in range(0, 600, 8):
                    served += sum(await asyncio.gather(*(one(i) for i in range(start, start + 8))))
                return served

        assert asyncio.run(main()) == 600
        assert "store writes fail" not in realm.proc.output()
    finally:
        disk.stop()


def test_concurrent_submits_of_one_request_id_share_one_intent_and_one_outcome(cluster) -> None:
    realm = cluster.realm()
    cluster.worker(realm, "w1", delay=0.01, concurrency=8)

    async def main() -> None:
        async with grpc.aio.insecure_channel(realm.address) as channel:
            stub = intents_pb2_grpc.IntentsStub(channel)
            for round in range(40):
                callers = [Caller(stub, _chat(f"round {round}", f"same-{round}")) for _ in range(6)]
                await asyncio.gather(*(c.task for c in callers))
                for c in callers:
                    assert c.error is None, c.error
                    assert c.which()[0] == "accepted" and len(c.outcomes()) == 1, c.which()
                assert len({c.intent_id for c in callers}) == 1
                assert callers[0].outcomes()[0].result.text.text == f"echo: round {round}"

    asyncio.run(main())
