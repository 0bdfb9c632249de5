"""Real realm and worker processes on 127.0.0.1 with ephemeral ports."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import grpc
from mtor_client import TLS
from mtor_client._proto.mtor.v1 import realm_pb2, realm_pb2_grpc
from mtor_client.admin import AdminClient
from mtor_client.channels import channel_credentials

if TYPE_CHECKING:
    import openai

SYSOP_TOKEN = "mtor_test-sysop-token"
JOIN_TOKEN = "mtor_test-join-token"
# Test defaults: quick heartbeats so that losses are noticed in well under a second; known secrets
# (a realm takes them on its first start, workers present the join token).
FAST = {
    "MTOR_HEALTH_HEARTBEAT_INTERVAL_S": "0.2",
    "MTOR_HEALTH_PEER_REPORT_INTERVAL_S": "0.2",
    "MTOR_WORKER_RECONNECT_MAX_S": "0.5",
    "HF_HUB_OFFLINE": "1",
    "MTOR_SYSOP_TOKEN": SYSOP_TOKEN,
    "MTOR_JOIN_TOKEN": JOIN_TOKEN,
    "MTOR_METRICS_LISTEN": "127.0.0.1:0",  # a free port each, so that realms side by side never clash
    "MTOR_GATEWAY_LISTEN": "127.0.0.1:0",
    "MTOR_DISCOVERY_ADVERTISE": "0",  # no announcements on any network (tests/test_discovery.py turns them on)
    "MTOR_DISCOVERY_WATCH": "0",  # nor listening for them (multicast queries)
}


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02,
               what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Proc:
    """A child process whose output goes to a log file we can read back."""

    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def alive(self) -> bool:
        return self.popen.poll() is None


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None, prefix: Sequence[str] = ()) -> Proc:
    """`mtor ARGS`; `prefix`: a command it runs under (e.g. nsenter into a namespace)."""
    full_env = {**os.environ, **FAST, **(env or {})}
    handle = log.open("w")
    popen = subprocess.Popen([*prefix, sys.executable, "-m", "mtor_server.cli", *args], stdout=handle,
                             stderr=subprocess.STDOUT, env=full_env, start_new_session=True)
    return Proc(popen, log)


@dataclass
class Realm:
    proc: Proc
    address: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    tls: TLS | None = None
    """What the harness's own calls (describe, admin) use to reach a TLS realm; None: plaintext."""

    def channel(self) -> grpc.Channel:
        if self.tls is None:
            return grpc.insecure_channel(self.address)
        return grpc.secure_channel(self.address, channel_credentials(self.tls))

    def describe(self, timeout: float = 2.0) -> realm_pb2.DescribeResponse:
        with self.channel() as channel:
            return realm_pb2_grpc.RealmInfoStub(channel).Describe(realm_pb2.DescribeRequest(), timeout=timeout)

    def workers(self, kind: int = 1) -> int:
        """Available workers serving `kind` (default chat)."""
        return next((k.workers for k in self.describe().kinds if k.kind == kind), 0)

    def admin(self) -> AdminClient:
        """The first sysop's Admin client."""
        return AdminClient(self.address, token=SYSOP_TOKEN, tls=self.tls)

    def new_user(self, name: str, role: str = "user") -> str:
        """Create a user; returns a token for them."""
        with self.admin() as admin:
            admin.create_user(name, role)
            return admin.create_token(name).token

    def wait_workers(self, n: int, timeout: float = 15.0) -> None:
        wait_until(lambda: self.workers() == n, timeout, what=f"{n} workers at the realm")


def start_realm(data_dir: Path, env: dict[str, str] | None = None, listen: str = "127.0.0.1:0",
                log_name: str = "realm.log", tls: TLS | None = None, prefix: Sequence[str] = ()) -> Realm:
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = spawn(["realm", "--listen", listen, "--data-dir", str(data_dir)], data_dir / log_name, env, prefix)

    def listening() -> str | None:
        if not proc.alive():
            raise AssertionError(f"realm exited:\n{proc.output()}")
        m = re.search(r"listening on (\S+)", proc.output())
        return m.group(1) if m else None

    address = wait_until(listening, 20.0, what="the realm to listen")
    return Realm(proc, str(address), data_dir, dict(env or {}), tls)


def start_worker(realm: Realm | str, name: str, work_dir: Path, *, concurrency: int = 4, delay: float = 0.0,
                 backends: str = "echo", env: dict[str, str] | None = None, wait: bool = True) -> Proc:
    address = realm.address if isinstance(realm, Realm) else realm
    work_dir.mkdir(parents=True, exist_ok=True)
    def joined() -> int:  # available workers summed over kinds: grows when this one joins
        return sum(k.workers for k in realm.describe().kinds) if isinstance(realm, Realm) else 0

    before = joined() if wait else 0
    proc = spawn(["worker", "--realm", address, "--name", name, "--backend", backends,
                  "--max-concurrency", str(concurrency), "--echo-delay", str(delay),
                  "--data-dir", str(work_dir / f"worker-{name}")], work_dir / f"worker-{name}.log", env)
    if wait and isinstance(realm, Realm):
        wait_until(lambda: joined() > before or not proc.alive(), 60.0, what=f"worker {name} to join")
        assert proc.alive(), proc.output()
    return proc


@dataclass
class Gateway:
    proc: Proc
    url: str
    """http://HOST:PORT"""


def start_gateway(realm: Realm | str, work_dir: Path, env: dict[str, str] | None = None,
                  name: str = "gateway") -> Gateway:
    """`mtor gateway` in front of `realm`, on a free port."""
    address = realm.address if isinstance(realm, Realm) else realm
    work_dir.mkdir(parents=True, exist_ok=True)
    proc = spawn(["gateway", "--realm", address, "--listen", "127.0.0.1:0", "--data-dir", str(work_dir / name)],
                 work_dir / f"{name}.log", env)

    def listening() -> str | None:
        if not proc.alive():
            raise AssertionError(f"gateway exited:\n{proc.output()}")
        m = re.search(r"mtor gateway on (http://\S+)", proc.output())
        return m.group(1) if m else None

    return Gateway(proc, str(wait_until(listening, 20.0, what="the gateway to listen")))


def openai_client(gateway: Gateway, token: str = SYSOP_TOKEN) -> "openai.OpenAI":
    """The official SDK pointed at the gateway; no retries, so that every refusal is seen."""
    import openai

    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=token, max_retries=0, timeout=30)
