"""Network namespaces for the discovery tests: each has loopback only, so no
multicast a test causes can reach a real network, whatever zeroconf does.

`NetNs` starts realms, workers and `mtor` commands inside one
(`unshare --net --map-root-user`, entered with nsenter); [discovery]
interfaces is 127.0.0.1 there as well.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness import FAST, SYSOP_TOKEN, Proc, wait_until

NS_ENV = {"MTOR_DISCOVERY_ADVERTISE": "1", "MTOR_DISCOVERY_WATCH": "1", "MTOR_DISCOVERY_INTERFACES": "127.0.0.1"}


def _netns_possible() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")):
        return False
    probe = subprocess.run(["unshare", "--net", "--map-root-user", "ip", "link", "set", "lo", "up"],
                           capture_output=True)
    return probe.returncode == 0


needs_netns = pytest.mark.skipif(not _netns_possible(), reason="needs unshare --net --map-root-user")


class NetNs:
    """A network namespace with loopback only; processes are started inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--map-root-user", "bash", "-c",
             "ip link set lo up && ip route add 224.0.0.0/4 dev lo && echo ready && exec sleep 3600"],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.holder.stdout is not None and self.holder.stdout.readline().strip() == "ready"
        self.procs: list[Proc] = []

    def command(self, *args: str) -> list[str]:
        return ["nsenter", f"--target={self.holder.pid}", "--net", "--user", "--preserve-credentials",
                sys.executable, "-m", "mtor_server.cli", *args]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **FAST, **NS_ENV, "MTOR_DATA_DIR": str(self.root / "cli"), **(extra or {})}

    def spawn(self, log_name: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        log = self.root / log_name
        popen = subprocess.Popen(self.command(*args), stdout=log.open("w"), stderr=subprocess.STDOUT,
                                 env=self.env(env), start_new_session=True)
        proc = Proc(popen, log)
        self.procs.append(proc)
        return proc

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env(env),
                              timeout=timeout)

    def realm(self, name: str, *extra: str) -> tuple[Proc, str]:
        """A realm called `name`; returns it and the address it listens on."""
        proc = self.spawn(f"realm-{name}.log", "realm", "--listen", "127.0.0.1:0", "--data-dir",
                          str(self.root / name), *extra, env={"MTOR_REALM_NAME": name})

        def listening() -> str | None:
            if not proc.alive():
                raise AssertionError(f"realm exited:\n{proc.output()}")
            out = proc.output()
            m = re.search(r"listening on (\S+)", out)
            # the announcement line comes with it, unless not announced
            return m.group(1) if m and ("announced" in out or "--no-advertise" in extra) else None

        return proc, str(wait_until(listening, 30.0, what=f"realm {name} to listen"))

    def worker(self, name: str, *extra: str) -> Proc:
        return self.spawn(f"worker-{name}.log", "worker", "--name", name, "--backend", "echo", "--data-dir",
                          str(self.root / f"worker-{name}"), *extra)

    def discover(self, seconds: float = 2.0) -> dict:
        done = self.run("discover", "--json", "--seconds", str(seconds))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def chat(self, address: str, prompt: str) -> subprocess.CompletedProcess:
        return self.run("chat", "--realm", address, prompt, env={"MTOR_TOKEN": SYSOP_TOKEN})

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.alive():
                proc.popen.kill()
                proc.popen.wait(10)
        os.killpg(self.holder.pid, signal.SIGKILL)
        self.holder.wait(10)
