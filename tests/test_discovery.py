"""LAN discovery (DNS-SD over multicast DNS, real python-zeroconf).

Every realm, worker and `mtor discover` of these tests runs inside a network
namespace the test makes (`unshare --net --map-root-user`, entered with
nsenter): its only interface is loopback, so no multicast can reach a real
network, whatever zeroconf does. [discovery] interfaces is 127.0.0.1 as well.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from harness import FAST, JOIN_TOKEN, SYSOP_TOKEN, Proc, wait_until

from mtor_server.config import Config, render
from mtor_server.discovery import DiscoveryError, Found, choose_realm

NS_ENV = {"MTOR_DISCOVERY_ADVERTISE": "1", "MTOR_DISCOVERY_INTERFACES": "127.0.0.1"}


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


@pytest.fixture
def ns(tmp_path: Path) -> Iterator[NetNs]:
    space = NetNs(tmp_path)
    try:
        yield space
    finally:
        space.stop()


def _realms(found: dict, name: str) -> list[dict]:
    return [r for r in found["realms"] if r["name"] == name]


# ------------------------------------------------------------------ realms --

@needs_netns
def test_discover_lists_a_realm_with_its_txt_and_no_secrets(ns: NetNs) -> None:
    _, address = ns.realm("alpha")
    ns.realm("hidden", "--no-advertise")
    found = ns.discover()
    assert [r["name"] for r in found["realms"]] == ["alpha"], found  # the --no-advertise realm is not there
    realm = found["realms"][0]
    assert realm["address"] == address
    rid = (ns.root / "alpha" / "realm_id").read_text().strip()
    assert len(rid) == 32
    assert realm["txt"] == {"id": rid, "name": "alpha", "protocol": "1", "kinds": "", "tls": "off",
                            "join_token": "required"}
    assert found["workers"] == []
    text = json.dumps(found)
    assert SYSOP_TOKEN not in text and JOIN_TOKEN not in text

    plain = ns.run("discover", "--seconds", "1.5")
    assert plain.returncode == 0 and f"'alpha' at {address}" in plain.stdout, plain.stdout


@needs_netns
def test_a_restarted_realm_keeps_its_id(ns: NetNs) -> None:
    first, _ = ns.realm("alpha")
    rid = ns.discover()["realms"][0]["txt"]["id"]
    assert first.terminate() == 0
    ns.realm("alpha")
    again = ns.discover()["realms"]
    assert [r["txt"]["id"] for r in again] == [rid]


# ----------------------------------------------------------------- workers --

@needs_netns
def test_worker_without_a_realm_waits_then_joins_and_serves(ns: NetNs) -> None:
    worker = ns.worker("w1")  # before any realm: it keeps looking
    wait_until(lambda: "still looking" in worker.output(), 20.0, what="the worker to say it is still looking")
    assert worker.alive(), worker.output()

    _, address = ns.realm("alpha")
    wait_until(lambda: "connected to realm 'alpha'" in worker.output(), 30.0, what="the worker to join")
    assert f"joining realm 'alpha' at {address}" in worker.output()
    done = ns.chat(address, "hello over the lan")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "echo: hello over the lan"
    assert "[w1@alpha" in done.stderr

    def announced() -> dict | None:  # the realm's TXT now names the kinds served; the worker is announced
        found = ns.discover(1.5)
        realm = _realms(found, "alpha")
        workers = [w for w in found["workers"] if w["name"] == "w1"]
        if realm and "chat" in realm[0]["txt"]["kinds"].split(",") and workers and workers[0]["txt"]["realm"]:
            return workers[0]
        return None

    w = wait_until(announced, 30.0, interval=0.1, what="the kinds and the worker to be announced")
    assert w["txt"]["realm"] == "alpha"
    assert "chat" in w["txt"]["kinds"].split(",") and w["txt"]["device"]
    assert int(w["txt"]["vram_mb"]) >= 0
    assert JOIN_TOKEN not in json.dumps(w)


@needs_netns
def test_worker_picks_by_realm_name_and_refuses_to_guess(ns: NetNs) -> None:
    _, alpha = ns.realm("alpha")
    _, beta = ns.realm("beta")

    guessing = ns.worker("guess")
    assert guessing.popen.wait(30) == 2
    out = guessing.output()
    assert "2 realms on the local network" in out and "--realm-name" in out, out
    assert f"'alpha' at {alpha}" in out and f"'beta' at {beta}" in out

    chosen = ns.worker("w2", "--realm-name", "beta")
    wait_until(lambda: "connected to realm 'beta'" in chosen.output(), 30.0, what="the worker to join beta")
    done = ns.chat(beta, "which realm")
    assert done.returncode == 0 and "[w2@beta" in done.stderr, done.stderr
    assert "connected to realm 'alpha'" not in chosen.output()

    explicit = ns.worker("w3", "--realm", alpha)  # an address given: no browsing at all
    wait_until(lambda: "connected to realm 'alpha'" in explicit.output(), 30.0, what="w3 to join alpha")
    assert "local network" not in explicit.output().split("connected to realm")[0].replace(
        "announced on the local network", "")


# ---------------------------------------------------------------- goodbyes --

@needs_netns
def test_a_stopped_realm_says_goodbye(ns: NetNs) -> None:
    watch = ns.spawn("watch.log", "discover", "--watch", "--json")
    time.sleep(1.0)  # the browser is up before the realms announce themselves
    clean, _ = ns.realm("clean")
    crashed, _ = ns.realm("crashed")

    def events() -> list[dict]:
        return [json.loads(line) for line in watch.output().splitlines() if line.startswith("{")]

    def seen(event: str, name: str) -> dict | None:
        return next((e for e in events() if e["event"] == event and e["instance"].startswith(f"{name} [")), None)

    wait_until(lambda: seen("added", "clean") and seen("added", "crashed"), 20.0, what="both realms seen")

    stopped_at = time.time()
    assert clean.terminate() == 0
    gone = wait_until(lambda: seen("removed", "clean"), 5.0, what="the clean realm's goodbye")
    assert gone["at"] - stopped_at < 3.0

    crashed.kill9()  # no goodbye: a browser keeps it until its records expire (minutes)
    time.sleep(2.0)
    assert seen("removed", "crashed") is None, events()


# ------------------------------------------------------------ unit checks --

def _realm(name: str, port: int) -> Found:
    return Found("realm", f"{name} [00000000]._mtor._tcp.local.", ["127.0.0.1"], port, {"name": name, "tls": "off"})


def test_choose_realm() -> None:
    a, b = _realm("a", 1), _realm("b", 2)
    assert choose_realm([]) is None
    assert choose_realm([a]) is a
    assert choose_realm([a, b], "b") is b
    assert choose_realm([a, b], "c") is None
    with pytest.raises(DiscoveryError, match=r"2 realms on the local network \('a' at 127.0.0.1:1; 'b' at "):
        choose_realm([a, b])
    with pytest.raises(DiscoveryError, match="2 realms named 'a'"):
        choose_realm([a, _realm("a", 3)], "a")
    tls = Found("realm", "t", ["10.0.0.1"], 7070, {"name": "t", "tls": "on"})
    assert tls.target == "grpcs://10.0.0.1:7070" and a.target == "127.0.0.1:1"


def test_discovery_config_is_documented() -> None:
    text = render(Config())
    assert "[discovery]\n" in text and "advertise = true" in text and "interfaces = []" in text
    assert 'realm = ""' in text and 'realm_name = ""' in text
