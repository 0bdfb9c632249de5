from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest
from harness import Gateway, Proc, Realm, start_gateway, start_realm, start_worker
from mtor_client import TLS
from netns import NetNs
from pg import PgServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Cluster:
    """Realms and workers started by one test, all stopped at its end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[Proc] = []

    def realm(self, env: dict[str, str] | None = None, name: str = "realm", tls: TLS | None = None) -> Realm:
        realm = start_realm(self.root / name, env, tls=tls)
        self.procs.append(realm.proc)
        return realm

    def restart(self, realm: Realm) -> Realm:
        again = start_realm(realm.data_dir, realm.env, listen=realm.address, log_name="realm-restarted.log",
                            tls=realm.tls)
        self.procs.append(again.proc)
        return again

    def worker(self, realm: Realm | str, name: str = "w1", **kwargs) -> Proc:
        proc = start_worker(realm, name, self.root / "workers", **kwargs)
        self.procs.append(proc)
        return proc

    def gateway(self, realm: Realm | str, env: dict[str, str] | None = None, name: str = "gateway") -> Gateway:
        gateway = start_gateway(realm, self.root / "gateways", env, name)
        self.procs.append(gateway.proc)
        return gateway

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.alive():
                proc.popen.kill()
                proc.popen.wait(10)


@contextlib.contextmanager
def echo_stack(root: Path, gateway_env: dict[str, str] | None = None,
               delay: float = 0.0) -> Iterator[tuple[Realm, Gateway]]:
    """A realm, an echo worker with 4 slots (`delay` s per streamed chunk) and a gateway, for the tests of one
    module (each start costs seconds); at the end the gateway's log must hold no traceback."""
    c = Cluster(root)
    try:
        realm = c.realm()
        c.worker(realm, "w1", concurrency=4, delay=delay)
        gateway = c.gateway(realm, gateway_env)
        yield realm, gateway
        assert "Traceback" not in gateway.proc.output(), gateway.proc.output()
    finally:
        c.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    """One Debian Chromium for the page tests of a module (tests/browser.py)."""
    from browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[NetNs]:
    """A network namespace of its own (tests/netns.py); everything started in it is stopped at the end."""
    space = NetNs(tmp_path)
    try:
        yield space
    finally:
        space.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL server for the session (tests/pg.py); each test makes its own database."""
    server = PgServer.start()
    try:
        yield server
    finally:
        server.stop()
