"""LAN discovery (DNS-SD over multicast DNS, real python-zeroconf).

Every realm, worker and `mtor discover` of these tests runs inside a network
namespace of its own (tests/netns.py, the `ns` fixture): its only interface is
loopback, so no multicast can reach a real network, whatever zeroconf does.
"""
from __future__ import annotations

import json
import time

import pytest
from harness import JOIN_TOKEN, SYSOP_TOKEN, wait_until
from netns import NetNs, needs_netns

from mtor_common.config import Config, render
from mtor_common.discovery import DiscoveryError, Found, choose_realm


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


# ------------------------------------------------- the realm's view, seeds --

def _network(ns: NetNs, address: str) -> dict:
    done = ns.run("admin", "--realm", address, "--token", SYSOP_TOKEN, "network", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


@needs_netns
def test_the_realm_lists_joined_refused_and_discovered_workers_and_other_realms(ns: NetNs) -> None:
    _, alpha = ns.realm("alpha")
    _, beta = ns.realm("beta")
    good = ns.worker("good", "--realm-name", "alpha")
    bad = ns.worker("bad", "--realm-name", "alpha", "--join-token", "mtor_not-a-join-token")
    ns.worker("elsewhere", "--realm-name", "beta")
    wait_until(lambda: "connected to realm 'alpha'" in good.output(), 30.0, what="good to join alpha")
    wait_until(lambda: "refused this worker" in bad.output(), 30.0, what="bad to be refused")

    def complete() -> dict | None:
        seen = _network(ns, alpha)
        workers = _by_name(seen["workers"])
        if {"good", "bad", "elsewhere"} <= set(workers) and workers["elsewhere"]["serves_realm"] == "beta" \
                and workers["good"]["announced"] and seen["realms"]:
            return seen
        return None

    seen = wait_until(complete, 30.0, interval=0.2, what="alpha to see every worker and beta")
    assert seen["watching"] is True
    workers = _by_name(seen["workers"])
    assert workers["good"]["state"] == "joined" and workers["good"]["kinds"] == ["chat", "embed", "imagine",
                                                                                "speak", "transcribe", "vision"]
    assert workers["good"]["address"] == "127.0.0.1"
    assert workers["bad"]["state"] == "refused" and workers["bad"]["refusals"] >= 1
    assert "UNAUTHENTICATED" in workers["bad"]["reason"] and "join token" in workers["bad"]["reason"]
    assert workers["bad"]["address"] == "127.0.0.1"
    assert workers["elsewhere"]["state"] == "discovered" and workers["elsewhere"]["announced"]
    beta_id = (ns.root / "beta" / "realm_id").read_text().strip()
    assert [(r["name"], r["address"], r["id"], r["found_by"]) for r in seen["realms"]] == [
        ("beta", beta, beta_id, "multicast")]  # alpha itself is left out

    for i in range(6):  # the refused worker gets no work
        done = ns.chat(alpha, f"who serves {i}")
        assert done.returncode == 0 and "[good@alpha" in done.stderr, done.stderr

    table = ns.run("admin", "--realm", alpha, "--token", SYSOP_TOKEN, "network")
    assert table.returncode == 0 and "refused x" in table.stdout and "(serves beta)" in table.stdout, table.stdout

    # a worker the sysop removed is refused too, with the sysop's reason
    removed = ns.run("admin", "--realm", alpha, "--token", SYSOP_TOKEN, "workers", "remove", "good")
    assert removed.returncode == 0, removed.stderr
    wait_until(lambda: _by_name(_network(ns, alpha)["workers"])["good"]["state"] == "refused", 20.0,
               what="the removed worker to be listed as refused")
    assert "removed by the sysop" in _by_name(_network(ns, alpha)["workers"])["good"]["reason"]


@needs_netns
def test_seeds_stand_in_where_multicast_finds_nothing(ns: NetNs) -> None:
    _, hidden = ns.realm("hidden", "--no-advertise")  # sends no multicast at all
    worker = ns.worker("w1", "--seed", hidden)
    wait_until(lambda: "connected to realm 'hidden'" in worker.output(), 30.0, what="the worker to join by seed")
    assert "at a seed address" in worker.output()
    done = ns.chat(hidden, "by seed")
    assert done.returncode == 0 and "[w1@hidden" in done.stderr, done.stderr

    _, peer = ns.realm("peer", "--no-advertise", "--seed", hidden, "--seed", "127.0.0.1:1")
    hidden_id = (ns.root / "hidden" / "realm_id").read_text().strip()

    def seeded() -> dict | None:
        seen = _network(ns, peer)
        return seen if seen["realms"] and seen["seed_errors"] else None

    seen = wait_until(seeded, 30.0, interval=0.2, what="the peer realm to ask its seeds")
    assert [(r["name"], r["id"], r["found_by"], r["kinds"]) for r in seen["realms"]] == [
        ("hidden", hidden_id, "seed", ["chat", "embed", "imagine", "speak", "transcribe", "vision"])]
    assert len(seen["seed_errors"]) == 1 and "127.0.0.1:1" in seen["seed_errors"][0]
    assert "UNAVAILABLE" in seen["seed_errors"][0]


@needs_netns
def test_a_worker_finds_its_realm_again_on_another_port(ns: NetNs) -> None:
    first, before = ns.realm("alpha")
    worker = ns.worker("w1")
    wait_until(lambda: "connected to realm 'alpha'" in worker.output(), 30.0, what="the worker to join")
    assert first.terminate() == 0
    wait_until(lambda: "looking for it on the local network" in worker.output(), 20.0,
               what="the worker to look for its realm again")
    _, after = ns.realm("alpha")  # same data dir and name, a new port
    assert after != before
    wait_until(lambda: worker.output().count("connected to realm 'alpha'") == 2, 30.0,
               what="the worker to rejoin the realm at its new address")
    assert f"joining realm 'alpha' at {after}" in worker.output()
    done = ns.chat(after, "found again")
    assert done.returncode == 0 and done.stdout.strip() == "echo: found again", done.stderr
