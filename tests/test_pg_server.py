"""The throwaway PostgreSQL server the store's tests run against (tests/pg.py): real, and on loopback only."""
from __future__ import annotations

import asyncio

import asyncpg
from pg import PgServer


def test_the_test_server_takes_connections_on_loopback_only(pg_server: PgServer) -> None:
    async def check() -> tuple[str, str, int]:
        conn = await asyncpg.connect(pg_server.url)
        try:
            await conn.execute("CREATE DATABASE smoke")
            listen = await conn.fetchval("SHOW listen_addresses")
            version = await conn.fetchval("SHOW server_version")
            smoke = await asyncpg.connect(pg_server.url.rsplit("/", 1)[0] + "/smoke")
            try:
                await smoke.execute("CREATE TABLE t (n integer)")
                await smoke.execute("INSERT INTO t VALUES (1), (2)")
                total = await smoke.fetchval("SELECT sum(n) FROM t")
            finally:
                await smoke.close()
            await conn.execute("DROP DATABASE smoke")
            return listen, version, total
        finally:
            await conn.close()

    listen, version, total = asyncio.run(check())
    assert listen == "127.0.0.1"
    assert int(version.split(".")[0]) >= 13
    assert total == 3
