"""`mtor discover --diagnose` and `mtor discover --seed`, for real, each test in a network namespace of
its own (tests/netns.py): the empty network, a namespace without a usable interface, a realm reached
only at its seed address, an announced realm, a realm of another protocol and a network with other
services but no realm (both announced by the real zeroconf Advertiser from a helper process).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from harness import Proc, wait_until
from netns import NetNs, needs_netns

SECONDS = "1"
HEAR_SECONDS = "1.5"
"""Where something must be heard: as long as tests/test_discovery.py listens."""

ANNOUNCE = """
import asyncio, sys
from mtor_common.discovery import Advertiser

async def main(service_type, name, txt):
    advertiser = await Advertiser.start(service_type, name, "f" * 32, 7999, ["127.0.0.1"], txt, ["127.0.0.1"])
    print("announced", advertiser.instance, flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1], sys.argv[2], dict(kv.split("=", 1) for kv in sys.argv[3:])))
"""


class BareNetNs(NetNs):
    """A namespace as `unshare --net` makes it: loopback down, so no interface has an address."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.holder = subprocess.Popen(["unshare", "--net", "--map-root-user", "bash", "-c",
                                        "echo ready && exec sleep 3600"],
                                       stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.holder.stdout is not None and self.holder.stdout.readline().strip() == "ready"
        self.procs: list[Proc] = []


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[BareNetNs]:
    space = BareNetNs(tmp_path)
    try:
        yield space
    finally:
        space.stop()


def diagnose(space: NetNs, *args: str, seconds: str = SECONDS,
             env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    """(exit code, the JSON report, the text report) of two runs of `mtor discover --diagnose`."""
    as_json = space.run("discover", "--diagnose", "--json", "--seconds", seconds, *args, env=env)
    text = space.run("discover", "--diagnose", "--seconds", seconds, *args, env=env)
    assert as_json.returncode == text.returncode, (as_json.stderr, text.stderr)
    assert "Traceback" not in as_json.stderr + text.stderr, as_json.stderr + text.stderr
    return as_json.returncode, json.loads(as_json.stdout), text.stdout


def codes(report: dict) -> list[str]:
    return [c["code"] for c in report["causes"]]


def announce(space: NetNs, service_type: str, name: str, txt: dict[str, str]) -> Proc:
    """A service announced through mtor's own zeroconf Advertiser, from a process inside the namespace."""
    log = space.root / f"announce-{name}.log"
    command = ["nsenter", f"--target={space.holder.pid}", "--net", "--user", "--preserve-credentials",
               sys.executable, "-c", ANNOUNCE, service_type, name, *(f"{k}={v}" for k, v in txt.items())]
    proc = Proc(subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True),
                log)
    space.procs.append(proc)

    def announced() -> bool:
        assert proc.alive(), proc.output()
        return "announced" in proc.output()

    wait_until(announced, 20.0, what=f"{name} to be announced")
    return proc


# ------------------------------------------------------------- nothing found --

@needs_netns
def test_empty_network_names_the_cause_and_suggests_seeds(ns: NetNs) -> None:
    rc, report, text = diagnose(ns)
    assert rc == 1
    assert codes(report) == ["nothing_heard"], report["causes"]
    assert report["realm_found"] is False
    assert report["interfaces"]["used"] == ["127.0.0.1"]
    lo = next(a for a in report["interfaces"]["adapters"] if a["name"] == "lo")
    assert lo["ipv4"] == ["127.0.0.1"] and lo["up"] is True and lo["used"] is True
    [sock] = report["multicast"]["sockets"]
    assert all(s["result"] == "ok" for s in sock["steps"]) and sock["came_back"] is True, sock
    assert report["multicast"]["zeroconf"] == {"started": True, "error": ""}
    assert report["heard"] == {"realms": [], "workers": [], "unresolved": [], "service_types": [], "other_hosts": []}

    assert "127.0.0.1 (lo): bound UDP 5353, joined 224.0.0.251, sent a query: it came back" in text, text
    assert "nothing was heard on multicast DNS" in text and "although the multicast sockets work here" in text
    assert "client isolation" in text and "--seed HOST:PORT" in text and "--realm HOST:PORT" in text
    assert "could not be opened" not in text and "no realm found" in text

    plain = ns.run("discover", "--json", "--seconds", SECONDS)  # plain listing: nothing, and that is no error
    assert plain.returncode == 0 and json.loads(plain.stdout) == {"realms": [], "workers": []}, plain.stderr


@needs_netns
def test_no_usable_interface_says_multicast_sockets_could_not_be_opened(bare: BareNetNs) -> None:
    rc, report, text = diagnose(bare)  # [discovery] interfaces = 127.0.0.1, as in every test namespace
    assert rc == 1
    assert codes(report) == ["no_ipv4", "not_here", "sockets"], report["causes"]
    [sock] = report["multicast"]["sockets"]
    assert sock["steps"][-1] == {"step": "join 224.0.0.251 on 127.0.0.1", "result": "[Errno 19] No such device",
                                 "errno": 19}
    assert report["multicast"]["zeroconf"] == {"started": False, "error": "OSError: [Errno 19] No such device"}
    assert "lo: no IPv4 address  [not up, not multicast, loopback]" in text, text
    assert "no network interface here has an IPv4 address (lo: down)" in text
    assert ("multicast sockets could not be opened: 127.0.0.1: join 224.0.0.251 on 127.0.0.1: "
            "[Errno 19] No such device") in text
    assert "`ip link set DEV up`" in text and "--seed HOST:PORT" in text

    every = {"MTOR_DISCOVERY_INTERFACES": ""}  # every interface: there is none, and zeroconf says so
    rc, report, text = diagnose(bare, env=every)
    assert rc == 1 and codes(report) == ["no_ipv4", "zeroconf"], report["causes"]
    assert report["interfaces"]["used"] == [] and report["multicast"]["sockets"] == []
    assert "No interfaces to listen on" in report["multicast"]["zeroconf"]["error"]
    assert "multicast DNS (python-zeroconf) could not start on any interface: RuntimeError: No interfaces" in text

    plain = bare.run("discover", "--seconds", SECONDS)  # no traceback: a pointer to --diagnose
    assert plain.returncode == 1 and "Traceback" not in plain.stderr, plain.stderr
    assert "cannot browse the local network ([Errno 19] No such device)" in plain.stderr
    assert "--diagnose" in plain.stderr


# ------------------------------------------------------------------- seeds --

@needs_netns
def test_a_realm_reached_only_at_its_seed(ns: NetNs) -> None:
    _, address = ns.realm("hidden", "--no-advertise")
    rid = (ns.root / "hidden" / "realm_id").read_text().strip()
    closed = "127.0.0.1:1"
    rc, report, text = diagnose(ns, "--seed", address, "--seed", closed)
    assert rc == 0, report["causes"]  # a realm was found, at its seed
    assert codes(report) == ["seed_only", "seed_failed"], report["causes"]
    assert report["seeds"][0] == {"seed": address, "answered": True, "name": "hidden", "id": rid, "protocol": "1",
                                  "address": address, "error": ""}
    assert report["seeds"][1]["answered"] is False and "UNAVAILABLE" in report["seeds"][1]["error"]
    assert report["heard"]["realms"] == []
    assert f"{address}: realm 'hidden', id {rid}, protocol 1" in text, text
    assert "answered at its seed address, but multicast found no realm" in text
    assert "--no-advertise" in text and f"keep --seed {address}" in text
    assert f"seed {closed} did not answer" in text
    assert f"found: 'hidden' at {address} (seed)" in text

    listed = ns.run("discover", "--seed", address, "--json", "--seconds", SECONDS)
    assert listed.returncode == 0, listed.stderr
    [realm] = json.loads(listed.stdout)["realms"]
    assert realm["via"] == "seed" and realm["name"] == "hidden" and realm["address"] == address
    assert realm["txt"]["id"] == rid and realm["txt"]["protocol"] == "1" and realm["txt"]["tls"] == "off"

    plain = ns.run("discover", "--seed", address, "--seed", closed, "--seconds", SECONDS)
    assert plain.returncode == 0 and f"'hidden' at {address}" in plain.stdout and "(via seed)" in plain.stdout
    assert f"seed {closed}" in plain.stderr

    configured = ns.run("discover", "--json", "--seconds", SECONDS, env={"MTOR_DISCOVERY_SEEDS": address})
    assert [r["name"] for r in json.loads(configured.stdout)["realms"]] == ["hidden"], configured.stderr


# ------------------------------------------------------------ found by multicast --

@needs_netns
def test_an_announced_realm_is_found_and_nothing_is_blamed(ns: NetNs) -> None:
    _, address = ns.realm("alpha")
    rc, report, text = diagnose(ns, seconds=HEAR_SECONDS)
    assert rc == 0
    assert report["causes"] == [] and report["realm_found"] is True
    [realm] = report["heard"]["realms"]
    assert realm["name"] == "alpha" and realm["address"] == address and realm["via"] == "multicast"
    assert report["mismatches"] == [] and report["heard"]["service_types"] == []  # our own types are not "other"
    assert f"'alpha' at {address}  protocol 1" in text and "nothing wrong found" in text, text
    assert "causes:" not in text

    both = ns.run("discover", "--json", "--seed", address, "--seconds", HEAR_SECONDS)  # heard and seeded: once
    assert [(r["name"], r["via"]) for r in json.loads(both.stdout)["realms"]] == [("alpha", "multicast")]


@needs_netns
def test_a_realm_of_another_protocol_is_named_with_both_versions(ns: NetNs) -> None:
    announce(ns, "_mtor._tcp.local.", "future", {"id": "f" * 32, "name": "future", "protocol": "999", "kinds": "",
                                                 "tls": "off", "join_token": "required"})
    rc, report, text = diagnose(ns, seconds=HEAR_SECONDS)
    assert rc == 1  # found, but no realm this mtor can use
    assert codes(report) == ["protocol"], report["causes"]
    assert report["mismatches"] == [{"role": "realm", "name": "future", "address": "127.0.0.1:7999",
                                     "via": "multicast", "protocol": "999", "ours": "1"}]
    assert "realm 'future' at 127.0.0.1:7999 speaks protocol 999; this mtor speaks protocol 1" in text, text
    assert "upgrade mtor on this machine" in text


@needs_netns
def test_other_services_but_no_realm_means_multicast_works(ns: NetNs) -> None:
    announce(ns, "_http._tcp.local.", "printer", {"path": "/"})
    rc, report, text = diagnose(ns, seconds=HEAR_SECONDS)
    assert rc == 1
    assert codes(report) == ["no_mtor_realm"], report["causes"]
    assert report["heard"]["service_types"] == ["_http._tcp.local."]
    assert "multicast works here (heard: _http._tcp.local.), but no MTOR realm is announced" in text, text
    assert "--no-advertise" in text and "loopback only" in text


def test_watch_does_not_take_seed_or_diagnose(tmp_path: Path) -> None:
    from harness import spawn

    proc = spawn(["discover", "--watch", "--diagnose", "--data-dir", str(tmp_path)], tmp_path / "watch.log")
    assert proc.popen.wait(30) == 2
    assert "does not go with --diagnose or --seed" in proc.output()
