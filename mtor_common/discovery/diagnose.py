"""`mtor discover --diagnose`: why nothing (or not the right thing) was found.

First the facts, each gathered for real on the interfaces discovery uses and
nowhere else: the adapters and their IPv4 addresses and flags; whether a UDP
socket can bind port 5353 and join 224.0.0.251 on each address, and whether a
packet sent there comes back; whether python-zeroconf starts; what was heard
in the listening time (MTOR realms and workers, any other DNS-SD service type,
mDNS packets from other hosts); protocol versions; the seeds. Then the
conclusion: the causes found, each with what to try, in plain words.
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from . import REALM_TYPE, RESOLVE_TIMEOUT_MS, TYPES, WORKER_TYPE, Browser, DiscoveryError, Found, interface_addresses

if TYPE_CHECKING:
    from mtor_client import TLS

MDNS_ADDR = "224.0.0.251"
MDNS_PORT = 5353
SERVICES_TYPE = "_services._dns-sd._udp.local."
"""DNS-SD service type enumeration: every responder answers with the types it announces."""
IFF_UP, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST = 0x1, 0x8, 0x40, 0x1000
LOOP_WAIT_S = 1.0
"""How long to wait for our own test packet to come back."""
SYS_NET = "/sys/class/net"
SIOCGIFFLAGS = 0x8913


@dataclass
class Cause:
    code: str
    """Stable identifier: interfaces, no_ipv4, not_here, down, sockets, zeroconf, no_loop, nothing_heard,
    no_mtor_realm, unresolved, seed_only, protocol, seed_failed, unknown."""
    what: str
    hint: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "what": self.what, "try": self.hint}


@dataclass
class Report:
    protocol: int
    seconds: float
    setting: list[str]
    """--interface / discovery.interfaces as given (empty: every interface)."""
    adapters: list[dict] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    interface_error: str = ""
    listen_error: str = ""
    """The listening socket (224.0.0.251:5353) could not be opened (verbatim)."""
    sockets: list[dict] = field(default_factory=list)
    zeroconf_error: str | None = None
    """None: not tried."""
    realms: list[Found] = field(default_factory=list)
    workers: list[Found] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    service_types: list[str] = field(default_factory=list)
    other_hosts: list[str] = field(default_factory=list)
    seeds: list[dict] = field(default_factory=list)
    seed_found: list[Found] = field(default_factory=list)
    mismatches: list[dict] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)

    @property
    def zeroconf_started(self) -> bool:
        return self.zeroconf_error == ""

    @property
    def usable_realms(self) -> list[Found]:
        """Realms found (by multicast or at a seed) that speak our protocol."""
        return [f for f in self.realms + self.seed_found if f.txt.get("protocol", str(self.protocol))
                == str(self.protocol)]

    @property
    def heard_anything(self) -> bool:
        return bool(self.realms or self.workers or self.unresolved or self.service_types or self.other_hosts)

    def as_dict(self) -> dict[str, object]:
        return {
            "protocol": self.protocol, "seconds": self.seconds, "realm_found": bool(self.usable_realms),
            "interfaces": {"setting": self.setting, "error": self.interface_error, "used": self.used,
                           "adapters": self.adapters},
            "multicast": {"listen_error": self.listen_error, "sockets": self.sockets,
                          "zeroconf": {"started": self.zeroconf_started, "error": self.zeroconf_error}},
            "heard": {"realms": [f.as_dict() for f in self.realms], "workers": [f.as_dict() for f in self.workers],
                      "unresolved": self.unresolved, "service_types": self.service_types,
                      "other_hosts": self.other_hosts},
            "seeds": self.seeds, "mismatches": self.mismatches,
            "causes": [c.as_dict() for c in self.causes],
        }


# ------------------------------------------------------------------ facts --

def _flags(name: str) -> int | None:
    """The interface flags (IFF_*): asked of the kernel (SIOCGIFFLAGS, Linux), which answers for this network
    namespace, else read from /sys/class/net, which may describe another namespace's interfaces."""
    if sys.platform.startswith("linux"):
        import fcntl

        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                reply = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("16sH14x", name.encode()[:15], 0))
            return int(struct.unpack("16sH14x", reply)[1])
        except OSError:
            pass
    try:
        with open(os.path.join(SYS_NET, name, "flags")) as f:
            return int(f.read().strip(), 16)
    except (OSError, ValueError):
        return None


def adapters() -> list[dict]:
    """Every network adapter: ifaddr's (those with addresses), and those without (socket.if_nameindex)."""
    import ifaddr

    out: dict[str, dict] = {}
    for adapter in ifaddr.get_adapters():
        name = adapter.nice_name or adapter.name
        entry = out.setdefault(name, {"name": name, "ipv4": []})
        entry["ipv4"] += [ip.ip for ip in adapter.ips if isinstance(ip.ip, str)]
    try:
        for _, name in sorted(socket.if_nameindex()):
            out.setdefault(name, {"name": name, "ipv4": []})
    except (OSError, AttributeError):
        pass
    for entry in out.values():
        flags = _flags(entry["name"])
        entry["ipv4"] = list(dict.fromkeys(entry["ipv4"]))
        for key, bit in (("up", IFF_UP), ("running", IFF_RUNNING), ("multicast", IFF_MULTICAST),
                         ("loopback", IFF_LOOPBACK)):
            entry[key] = None if flags is None else bool(flags & bit)
    return list(out.values())


def _adapter_of(address: str, found: list[dict]) -> dict | None:
    return next((a for a in found if address in a["ipv4"]), None)


def _query(token: str) -> bytes:
    """An mDNS query (TXT) for a name nobody holds, so that nobody answers it: our test packet."""
    name = b"".join(bytes([len(label)]) + label for label in (token.encode(), b"local")) + b"\0"
    return struct.pack("!6H", 0, 0, 1, 0, 0, 0) + name + struct.pack("!2H", 16, 1)


def _reuse(s: socket.socket) -> None:
    """As python-zeroconf does, so that it and other mDNS stacks can share the port."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        except OSError as e:
            if e.errno != errno.ENOPROTOOPT:
                raise


def probe_sockets(addresses: list[str], found: list[dict]) -> tuple[socket.socket | None, str, list[dict]]:
    """For each address: join 224.0.0.251 there on a socket bound to 224.0.0.251:5353, send a query
    from ADDRESS:5353 out of that interface only (as zeroconf does), and see whether it comes back.
    Returns (the listening socket, left open for the caller when it joined anywhere, else None; why it
    could not be opened; one entry per address).

    The listening socket is bound to the group address, not to *:5353 as zeroconf's is, so that it never
    takes a unicast answer meant for a zeroconf of this host (sockets sharing a port split unicast among
    them); the sending socket, bound to ADDRESS:5353 like zeroconf's, is closed as soon as it has sent."""
    results = [{"address": a, "interface": (_adapter_of(a, found) or {}).get("name"), "steps": [],
                "came_back": None} for a in addresses]
    if not addresses:
        return None, "", results

    def step(entry: dict, what: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except OSError as e:
            entry["steps"].append({"step": what, "result": str(e), "errno": e.errno})
            return False
        entry["steps"].append({"step": what, "result": "ok"})
        return True

    bind = f"bind {MDNS_ADDR}:{MDNS_PORT}"
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        _reuse(listen)
        listen.bind((MDNS_ADDR, MDNS_PORT))
    except OSError as e:
        listen.close()
        for entry in results:
            entry["steps"].append({"step": bind, "result": str(e), "errno": e.errno})
        return None, str(e), results

    joined = False
    waiting: dict[bytes, dict] = {}
    for entry in results:
        address = entry["address"]
        entry["steps"].append({"step": bind, "result": "ok"})
        member = socket.inet_aton(MDNS_ADDR) + socket.inet_aton(address)
        if not step(entry, f"join {MDNS_ADDR} on {address}",
                    lambda: listen.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, member)):
            continue
        joined = True
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            def open_sender(sender: socket.socket = sender, address: str = address) -> None:
                _reuse(sender)
                sender.bind((address, MDNS_PORT))
                sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
                sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("B", 255))
                sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, struct.pack("B", 1))

            if not step(entry, f"bind {address}:{MDNS_PORT}", open_sender):
                continue
            token = f"mtor-diagnose-{os.urandom(6).hex()}"
            packet = _query(token)
            if not step(entry, f"send to {MDNS_ADDR}:{MDNS_PORT} on {address}",
                        lambda sender=sender, packet=packet: sender.sendto(packet, (MDNS_ADDR, MDNS_PORT))):
                continue
        entry["came_back"] = False
        waiting[token.encode()] = entry
    _await_own(listen, waiting)
    if not joined:
        listen.close()
        return None, "", results
    return listen, "", results


def _await_own(listen: socket.socket, waiting: dict[bytes, dict]) -> None:
    """Mark each entry whose test packet comes back within LOOP_WAIT_S."""
    deadline = time.monotonic() + LOOP_WAIT_S
    while waiting and time.monotonic() < deadline:
        ready, _, _ = select.select([listen], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        data, _ = listen.recvfrom(9000)
        for token in [t for t in waiting if t in data]:
            waiting.pop(token)["came_back"] = True


async def _other_hosts(listen: socket.socket, local: set[str], heard: set[str]) -> None:
    """Sources of mDNS packets from other hosts, until cancelled."""
    loop = asyncio.get_running_loop()
    listen.setblocking(False)
    while True:
        try:
            _, (source, _) = await loop.sock_recvfrom(listen, 9000)
        except OSError:
            return
        if source not in local:
            heard.add(source)


async def _hear(report: Report, seconds: float) -> None:
    """Browse MTOR realms and workers and the service type enumeration on the chosen interfaces."""
    types: set[str] = set()

    def changed(service_type: str, name: str, added: bool) -> None:
        if added and service_type == SERVICES_TYPE:
            types.add(name)

    try:
        browser = Browser(report.setting, (REALM_TYPE, WORKER_TYPE, SERVICES_TYPE), changed)
        await browser.__aenter__()
    except Exception as e:  # an OSError most often; zeroconf's RuntimeError where there is no interface
        report.zeroconf_error = f"{type(e).__name__}: {e}"
        await asyncio.sleep(seconds)  # the seeds get their time all the same
        return
    report.zeroconf_error = ""
    try:
        await asyncio.sleep(seconds)
        mtor = [(t, n) for t, n in list(browser.present) if t in TYPES]
        resolved = await asyncio.gather(*(browser.resolve(t, n) for t, n in mtor))
    finally:
        await browser.__aexit__(None, None, None)
    for (_, name), found in zip(mtor, resolved):
        if found is None:
            report.unresolved.append(name)
        else:
            (report.realms if found.role == "realm" else report.workers).append(found)
    report.realms.sort(key=lambda f: (f.name, f.address))
    report.workers.sort(key=lambda f: (f.name, f.address))
    report.service_types = sorted(types - set(TYPES))


async def _ask_seeds(report: Report, seeds: list[str], tls: TLS | None, timeout_s: float) -> None:
    from .seeds import SeedError, probe_seed

    answers = await asyncio.gather(*(probe_seed(s, tls, timeout_s) for s in seeds), return_exceptions=True)
    for seed, answer in zip(seeds, answers):
        if isinstance(answer, Found):
            report.seed_found.append(answer)
            report.seeds.append({"seed": seed, "answered": True, "name": answer.name, "id": answer.txt["id"],
                                 "protocol": answer.txt["protocol"], "address": answer.address, "error": ""})
        else:
            why = str(answer) if isinstance(answer, SeedError) else f"{type(answer).__name__}: {answer}"
            report.seeds.append({"seed": seed, "answered": False, "error": why})


async def diagnose(seconds: float, interfaces: Iterable[str] = (), seeds: Iterable[str] = (),
                   tls: TLS | None = None) -> Report:
    """Gather the facts (listening `seconds`) and conclude."""
    from .. import PROTOCOL

    report = Report(PROTOCOL, seconds, [i for i in interfaces if i.strip()])
    seeds = [s.strip() for s in seeds if s.strip()]
    report.adapters = adapters()
    try:
        chosen = interface_addresses(report.setting)
    except DiscoveryError as e:
        report.interface_error = str(e)
        chosen = None
    if chosen is not None:
        report.used = chosen or [a for entry in report.adapters for a in entry["ipv4"]]
    for entry in report.adapters:
        entry["used"] = any(a in report.used for a in entry["ipv4"])
    listen, report.listen_error, report.sockets = probe_sockets(report.used, report.adapters)

    local = {a for entry in report.adapters for a in entry["ipv4"]} | set(report.used)
    others: set[str] = set()
    listening = asyncio.get_running_loop().create_task(_other_hosts(listen, local, others)) if listen else None
    try:
        jobs = [_ask_seeds(report, seeds, tls, max(seconds, 1.0))]
        if chosen is not None:
            jobs.append(_hear(report, seconds))
        await asyncio.gather(*jobs)
    finally:
        if listening is not None:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
        if listen is not None:
            listen.close()
    report.other_hosts = sorted(others, key=ipaddress.IPv4Address)

    for found in report.realms + report.workers + report.seed_found:
        theirs = found.txt.get("protocol", "")
        if theirs and theirs != str(PROTOCOL):
            report.mismatches.append({"role": found.role, "name": found.name, "address": found.address,
                                      "via": found.via, "protocol": theirs, "ours": str(PROTOCOL)})
    report.causes = conclude(report)
    return report


# ------------------------------------------------------------- conclusion --

SEED_HINT = "ask a realm directly: --seed HOST:PORT (config discovery.seeds), or give a worker --realm HOST:PORT"


def _failure(entry: dict) -> str | None:
    """'join 224.0.0.251 on 127.0.0.1: [Errno 19] No such device', or None when every step went well."""
    bad = next((s for s in entry["steps"] if s["result"] != "ok"), None)
    return None if bad is None else f"{bad['step']}: {bad['result']}"


def conclude(r: Report) -> list[Cause]:
    causes: list[Cause] = []
    found = bool(r.usable_realms)
    if r.interface_error:
        causes.append(Cause("interfaces", f"the interfaces to use cannot be worked out: {r.interface_error}",
                            "give --interface (config discovery.interfaces) an interface name or IPv4 address "
                            "listed above, or leave it empty to use every interface"))
    if not any(a["ipv4"] for a in r.adapters):
        down = [a["name"] for a in r.adapters if a["up"] is False]
        causes.append(Cause("no_ipv4", "no network interface here has an IPv4 address"
                            + (f" ({', '.join(down)}: down)" if down else ""),
                            "connect to the network (cable, Wi-Fi) or bring an interface up, e.g. "
                            "`ip link set DEV up`; multicast DNS needs an interface with an IPv4 address"))
    known = {a for entry in r.adapters for a in entry["ipv4"]}
    for address in r.used:
        adapter = _adapter_of(address, r.adapters)
        if address not in known:
            causes.append(Cause("not_here", f"{address} (from --interface or discovery.interfaces) is not the "
                                "address of any interface here",
                                "choose an interface or address listed above with --interface (config "
                                "discovery.interfaces), or leave it empty to use every interface"))
        elif adapter is not None and adapter["up"] is False:
            causes.append(Cause("down", f"interface {adapter['name']} ({address}) is down",
                                f"bring it up (`ip link set {adapter['name']} up`) or choose another with --interface"))

    failed = {e["address"]: why for e in r.sockets if (why := _failure(e))}
    if r.used and (len(failed) == len(r.used) or (failed and not found)):
        listed = "; ".join(f"{a}: {why}" for a, why in failed.items())
        everywhere = len(failed) == len(r.used)
        hint = ("check that the interface is up, has an IPv4 address and carries multicast (`ip addr`, `ip link`), "
                "or choose another with --interface (config discovery.interfaces)")
        if any(s.get("errno") == errno.EADDRINUSE for e in r.sockets for s in e["steps"]):
            hint += ("; another program holds UDP port 5353 without sharing it (with avahi: disallow-other-stacks=no "
                     "in avahi-daemon.conf)")
        also = f"; python-zeroconf could not start either ({r.zeroconf_error})" if r.zeroconf_error else ""
        causes.append(Cause("sockets", "multicast sockets could not be opened"
                            + ("" if everywhere else " on some interfaces") + f": {listed}{also}",
                            hint + ("; meanwhile " + SEED_HINT if everywhere or r.zeroconf_error else "")))
    elif r.zeroconf_error:
        causes.append(Cause("zeroconf", f"multicast DNS (python-zeroconf) could not start on "
                            f"{', '.join(r.used) or 'any interface'}: {r.zeroconf_error}",
                            "see the interfaces and sockets above; meanwhile " + SEED_HINT))
    if not found:
        silent = [e["address"] for e in r.sockets if e["came_back"] is False]
        if silent:
            causes.append(Cause("no_loop", f"a multicast packet sent on {', '.join(silent)} did not come back to "
                                "this host: a firewall here drops mDNS (UDP port 5353), or the interface does not "
                                "carry multicast",
                                "allow UDP port 5353 in and out (e.g. `ufw allow 5353/udp`, `firewall-cmd "
                                "--add-service=mdns`), or choose another interface with --interface"))

    multicast_ok = r.zeroconf_started
    seeded = [f for f in r.seed_found if f.txt.get("protocol", str(r.protocol)) == str(r.protocol)]
    if multicast_ok and not r.realms:
        if seeded:
            names = ", ".join(f"{f.name!r} (id {f.txt.get('id', '?')[:8]})" for f in seeded)
            seeds = " ".join(f"--seed {s['seed']}" for s in r.seeds if s["answered"])
            causes.append(Cause("seed_only", f"the realm {names} answered at its seed address, but multicast found "
                                "no realm",
                                "either it is not announced (started with --no-advertise, discovery.advertise = "
                                "false, or listening on a loopback address, which is announced on loopback only), "
                                "or multicast is blocked between you and it (Wi-Fi client isolation, a VPN, a "
                                f"firewall, a router between subnets); the seed works: keep {seeds} (or put it in "
                                "discovery.seeds)"))
        elif not r.heard_anything:
            causes.append(Cause("nothing_heard", f"nothing was heard on multicast DNS in {r.seconds:g} s (no MTOR "
                                "realm or worker, no other service, no mDNS packet from another host), although "
                                "the multicast sockets work here",
                                "no realm is running on this network segment, or multicast is filtered between "
                                "you and it (Wi-Fi access points with client isolation, VPNs, firewalls dropping "
                                "UDP port 5353; mDNS never crosses a router); " + SEED_HINT
                                + "; on a slow network, listen longer (--seconds)"))
        elif not r.unresolved:
            heard = [f"{len(r.workers)} MTOR worker(s)"] if r.workers else []
            heard += r.service_types[:5] + (["..."] if len(r.service_types) > 5 else [])
            if r.other_hosts and not heard:
                heard = [f"mDNS from {', '.join(r.other_hosts[:5])}"]
            named = sorted({w.txt.get("realm", "") for w in r.workers} - {""})
            also = (f"; the workers heard serve realm {', '.join(repr(n) for n in named)}, which is not announced "
                    "here" if named else "")
            causes.append(Cause("no_mtor_realm", f"multicast works here (heard: {', '.join(heard)}), but no MTOR "
                                f"realm is announced{also}",
                                "start one (`mtor realm --listen 0.0.0.0:7070`), or check the realm: not started "
                                "with --no-advertise (discovery.advertise = false), not listening on a loopback "
                                "address (a realm on 127.0.0.1 is announced on loopback only, on its own machine), "
                                "its discovery.interfaces include this network; a realm on another subnet is not "
                                "heard (mDNS never crosses a router): use --seed HOST:PORT"))
    for name in r.unresolved:
        if not found:
            causes.append(Cause("unresolved", f"{name} was announced but did not answer the query for its address "
                                f"within {RESOLVE_TIMEOUT_MS / 1000:g} s",
                                "it may have just stopped, or answers are lost on the way back (multicast filtered "
                                "one way); run again, or " + SEED_HINT))
    for m in r.mismatches:
        if not m["protocol"].isdigit():
            hint = "run the same MTOR version on both sides"
        elif int(m["protocol"]) > int(m["ours"]):
            hint = f"upgrade mtor on this machine to the version that {m['role']} runs"
        else:
            hint = f"upgrade that {m['role']} to the mtor version this machine runs"
        causes.append(Cause("protocol", f"{m['role']} {m['name']!r} at {m['address']} speaks protocol "
                            f"{m['protocol']}; this mtor speaks protocol {m['ours']}", hint))
    for s in r.seeds:
        if not s["answered"]:
            causes.append(Cause("seed_failed", f"seed {s['seed']} did not answer: {s['error']}",
                                "check the address and port (the realm's realm.listen), that the realm runs and "
                                "listens on an address reachable from here (not 127.0.0.1), that no firewall blocks "
                                "that TCP port; for a TLS realm write grpcs://HOST:PORT and set [tls] ca_file"))
    if not found and not causes:
        causes.append(Cause("unknown", "no realm was found and nothing above explains why",
                            "run again with a longer --seconds, or " + SEED_HINT))
    return causes


# ----------------------------------------------------------------- output --

def _yes(value: bool | None, word: str) -> str:
    return "" if value is None else (word if value else f"not {word}")


def render(r: Report) -> str:
    lines: list[str] = []
    add = lines.append
    add(f"mtor discover --diagnose: listened {r.seconds:g} s; this mtor speaks protocol {r.protocol}")
    add("")
    add("interfaces (" + (f"chosen: {', '.join(r.setting)}" if r.setting else "all") + "):")
    for a in r.adapters:
        flags = ", ".join(f for f in (_yes(a["up"], "up"), _yes(a["multicast"], "multicast"),
                                      "loopback" if a["loopback"] else "") if f)
        add(f"  {a['name']}: {', '.join(a['ipv4']) or 'no IPv4 address'}" + (f"  [{flags}]" if flags else "")
            + ("  (used)" if a.get("used") else ""))
    if not r.adapters:
        add("  none")
    if r.interface_error:
        add(f"  error: {r.interface_error}")
    add(f"  discovery uses: {', '.join(r.used) or 'nothing'}")
    add("")
    add("multicast sockets:")
    for e in r.sockets:
        where = f"{e['address']} ({e['interface'] or 'no such interface'})"
        why = _failure(e)
        if why:
            add(f"  {where}: {why}")
        else:
            back = {True: "it came back", False: f"it did not come back within {LOOP_WAIT_S:g} s"}[e["came_back"]]
            add(f"  {where}: bound UDP 5353, joined {MDNS_ADDR}, sent a query: {back}")
    if not r.sockets:
        add("  no address to try")
    if r.zeroconf_error is None:
        add("  zeroconf: not tried")
    else:
        add(f"  zeroconf: {'started' if r.zeroconf_started else 'could not start: ' + r.zeroconf_error}")
    add("")
    if not r.zeroconf_started:
        add("heard: nothing, multicast DNS did not start")
    else:
        add(f"heard in {r.seconds:g} s:")
        for title, found in (("MTOR realms", r.realms), ("MTOR workers", r.workers)):
            add(f"  {title}: {len(found) or 'none'}")
            for f in found:
                add(f"    {f.name!r} at {f.address or '?'}  protocol {f.txt.get('protocol', '?')}"
                    + (f", realm {f.txt['realm']!r}" if f.txt.get("realm") else ""))
        for name in r.unresolved:
            add(f"  announced but not resolved: {name}")
        add(f"  other DNS-SD service types: {', '.join(r.service_types) or 'none'}")
        add(f"  mDNS packets from other hosts: {', '.join(r.other_hosts) or 'none'}")
    add("")
    add("seeds:" + ("" if r.seeds else " none given (--seed HOST:PORT, config discovery.seeds)"))
    for s in r.seeds:
        if s["answered"]:
            add(f"  {s['seed']}: realm {s['name']!r}, id {s['id']}, protocol {s['protocol']}")
        else:
            add(f"  {s['seed']}: no answer: {s['error']}")
    add("")
    realms = r.usable_realms
    if realms:
        add(f"found: {', '.join(f'{f.name!r} at {f.address} ({f.via})' for f in realms)}")
    else:
        add("no realm found")
    if r.causes:
        add("causes:" if not realms else "also:")
        for c in r.causes:
            add(f"  - {c.what}")
            add(f"    try: {c.hint}")
    else:
        add("nothing wrong found")
    return "\n".join(lines)
