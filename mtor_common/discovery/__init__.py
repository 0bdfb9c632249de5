"""Finding realms and workers on the local network: DNS-SD over multicast DNS
(python-zeroconf), nothing home-made.

A realm announces `_mtor._tcp.local.`, a worker `_mtor-worker._tcp.local.`;
their TXT records say what they are and never carry a secret. This module is
shared by the realm, the worker and `mtor discover`, and imports nothing heavy
(zeroconf only when used). Everything here runs on an asyncio loop and never
blocks it (zeroconf.asyncio).
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

if TYPE_CHECKING:
    from mtor_client import TLS
    from zeroconf import InterfaceChoice
    from zeroconf.asyncio import AsyncZeroconf

log = logging.getLogger("mtor.discovery")

REALM_TYPE = "_mtor._tcp.local."
WORKER_TYPE = "_mtor-worker._tcp.local."
TYPES = {REALM_TYPE: "realm", WORKER_TYPE: "worker"}
RESOLVE_TIMEOUT_MS = 1500
SETTLE_S = 1.2
"""After the first realm answers, how long a worker given no realm name listens for others before it
chooses. A responder answers a query within 20-120 ms (RFC 6762 section 6), but one that multicast the
record in the last second (a realm that has just announced itself, or answered another worker) waits
a second more first (section 14; zeroconf does): 1.2 s from the first answer has heard them all."""


class DiscoveryError(ValueError):
    """Discovery cannot go on as configured (an unknown interface, several realms and none chosen)."""


@dataclass
class Found:
    """A realm or worker seen on the network."""

    role: str
    """"realm" or "worker"."""
    instance: str
    """The DNS-SD instance name, e.g. "gpu-box [1a2b3c4d]._mtor._tcp.local."."""
    addresses: list[str]
    port: int
    txt: dict[str, str] = field(default_factory=dict)
    via: str = "multicast"
    """How it was found: "multicast" (its DNS-SD announcement) or "seed" (asked at a seed address)."""

    @property
    def name(self) -> str:
        return self.txt.get("name") or self.instance.split(".", 1)[0]

    @property
    def address(self) -> str:
        """HOST:PORT of its first address (empty when it has none; just HOST for a worker, which has no port)."""
        if not self.addresses:
            return ""
        return f"{self.addresses[0]}:{self.port}" if self.port else self.addresses[0]

    @property
    def target(self) -> str:
        """What a worker dials: HOST:PORT, or grpcs://HOST:PORT for a realm that serves TLS."""
        return f"grpcs://{self.address}" if self.txt.get("tls") == "on" else self.address

    def as_dict(self) -> dict[str, object]:
        return {"role": self.role, "name": self.name, "instance": self.instance, "address": self.address,
                "addresses": self.addresses, "port": self.port, "txt": self.txt, "via": self.via}


def _ipv4_of(name: str) -> list[str]:
    """The IPv4 addresses of an interface name (e.g. eth0)."""
    import ifaddr

    for adapter in ifaddr.get_adapters():
        if name in (adapter.nice_name, adapter.name):
            return [ip.ip for ip in adapter.ips if isinstance(ip.ip, str)]
    return []


def interface_addresses(names: Iterable[str]) -> list[str]:
    """[discovery] interfaces -> IPv4 addresses: an address stays, an interface name becomes its addresses."""
    out: list[str] = []
    for item in (n.strip() for n in names):
        if not item:
            continue
        try:
            out.append(str(ipaddress.IPv4Address(item)))
            continue
        except ValueError:
            pass
        found = _ipv4_of(item)
        if not found:
            raise DiscoveryError(f"discovery.interfaces: {item!r} is neither an IPv4 address nor an interface "
                                 "with one")
        out += found
    return list(dict.fromkeys(out))


def zeroconf_interfaces(names: Iterable[str]) -> InterfaceChoice | list[str]:
    """What AsyncZeroconf(interfaces=...) gets: the chosen addresses, or every interface when none are chosen."""
    from zeroconf import InterfaceChoice

    return interface_addresses(names) or InterfaceChoice.All


def _open(interfaces: InterfaceChoice | list[str]) -> AsyncZeroconf:
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    return AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)


def _txt(properties: Mapping[bytes | str, bytes | str | None]) -> dict[str, str]:
    def text(v: bytes | str | None) -> str:
        return v.decode(errors="replace") if isinstance(v, bytes) else (v or "")

    return {text(k): text(v) for k, v in properties.items()}


def _label(name: str, suffix: str) -> str:
    """A DNS-SD instance label (at most 63 bytes): the name, cut if need be, then the suffix."""
    room = 63 - len(suffix.encode())
    cut = name.encode()[:room].decode(errors="ignore")
    return f"{cut}{suffix}"


class Advertiser:
    """One service announced on the network; stop() says goodbye (TTL 0) before closing."""

    def __init__(self, zc: AsyncZeroconf, info: object, where: str) -> None:
        self._zc, self._info, self.where = zc, info, where
        self._stopped = False

    @property
    def instance(self) -> str:
        return self._info.name  # type: ignore[attr-defined]

    @classmethod
    async def start(cls, service_type: str, name: str, unique: str, port: int, addresses: list[str],
                    txt: Mapping[str, str], interfaces: InterfaceChoice | list[str]) -> Advertiser:
        """Announce `name` (made unique by `unique`, e.g. an id) at `addresses`:`port`."""
        from zeroconf.asyncio import AsyncServiceInfo

        info = AsyncServiceInfo(service_type, f"{_label(name, f' [{unique[:8]}]')}.{service_type}",
                                addresses=[socket.inet_aton(a) for a in addresses], port=port,
                                properties=dict(txt), server=f"mtor-{unique[:12]}.local.")
        zc = _open(interfaces)
        try:
            await (await zc.async_register_service(info, allow_name_change=True))
        except BaseException:
            await zc.async_close()
            raise
        where = "loopback only" if addresses == ["127.0.0.1"] else ", ".join(addresses)
        return cls(zc, info, where)

    async def update(self, txt: Mapping[str, str]) -> None:
        """Announce new TXT data (e.g. the kinds served now)."""
        if self._stopped:
            return
        from zeroconf.asyncio import AsyncServiceInfo

        old = self._info
        self._info = AsyncServiceInfo(old.type, old.name, addresses=old.addresses, port=old.port,  # type: ignore
                                      properties=dict(txt), server=old.server)  # type: ignore[attr-defined]
        await (await self._zc.async_update_service(self._info))  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Goodbye packets, then close; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await (await self._zc.async_unregister_service(self._info))  # type: ignore[arg-type]
        finally:
            await self._zc.async_close()


async def _resolve(zc: AsyncZeroconf, service_type: str, instance: str) -> Found | None:
    from zeroconf.asyncio import AsyncServiceInfo

    info = AsyncServiceInfo(service_type, instance)
    if not await info.async_request(zc.zeroconf, RESOLVE_TIMEOUT_MS, question_type=_multicast_answers()) \
            or info.port is None:
        return None
    return Found(TYPES[service_type], instance, info.parsed_addresses(), info.port, _txt(info.properties))


def _multicast_answers() -> object:
    """Ask for answers by multicast (QM), not unicast (QU): several processes on one host (a realm and its
    workers) share port 5353, and a unicast answer reaches only one of their sockets."""
    from zeroconf import DNSQuestionType

    return DNSQuestionType.QM


async def browse(seconds: float, interfaces: Iterable[str] = (),
                 types: Iterable[str] = (REALM_TYPE, WORKER_TYPE)) -> list[Found]:
    """Everything of `types` that answers within `seconds`, resolved (name, addresses, TXT)."""
    found: list[Found] = []
    async with Browser(interfaces, types) as browser:
        await asyncio.sleep(seconds)
        found = await browser.resolve_all()
    return sorted(found, key=lambda f: (f.role, f.name, f.address))


class Browser:
    """Browses while open. `on_change(role_type, instance, added)` is called on the loop for each
    service that appears (added=True) or says goodbye / expires (added=False)."""

    def __init__(self, interfaces: Iterable[str] = (), types: Iterable[str] = (REALM_TYPE, WORKER_TYPE),
                 on_change: Callable[[str, str, bool], None] | None = None) -> None:
        self._interfaces = zeroconf_interfaces(interfaces)
        self._types = list(types)
        self._on_change = on_change
        self.present: dict[tuple[str, str], None] = {}
        self._zc: AsyncZeroconf | None = None
        self._browser = None

    async def __aenter__(self) -> Browser:
        from zeroconf import ServiceStateChange
        from zeroconf.asyncio import AsyncServiceBrowser

        def changed(zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange) -> None:
            key = (service_type, name)
            if state_change is ServiceStateChange.Removed:
                self.present.pop(key, None)
                added = False
            elif key not in self.present:
                self.present[key] = None
                added = True
            else:
                return
            if self._on_change is not None:
                self._on_change(service_type, name, added)

        self._zc = _open(self._interfaces)
        self._browser = AsyncServiceBrowser(self._zc.zeroconf, self._types, handlers=[changed],
                                            question_type=_multicast_answers())
        return self

    async def resolve(self, service_type: str, instance: str) -> Found | None:
        assert self._zc is not None
        return await _resolve(self._zc, service_type, instance)

    async def resolve_all(self) -> list[Found]:
        results = await asyncio.gather(*(self.resolve(t, n) for t, n in list(self.present)))
        return [f for f in results if f is not None]

    async def __aexit__(self, *exc: object) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zc is not None:
            await self._zc.async_close()


def choose_realm(found: Iterable[Found], name: str = "") -> Found | None:
    """The realm to join: the one called `name`, or the only one. None: not (yet) there.
    Raises DiscoveryError when several fit and nothing tells them apart."""
    realms = [f for f in found if f.role == "realm" and f.address]
    if name:
        realms = [f for f in realms if f.name == name]
    if len(realms) <= 1:
        return realms[0] if realms else None
    listed = "; ".join(f"{f.name!r} at {f.address}" for f in realms)
    if name:
        raise DiscoveryError(f"{len(realms)} realms named {name!r} on the local network ({listed}); "
                             "give the one to join with --realm HOST:PORT")
    raise DiscoveryError(f"{len(realms)} realms on the local network ({listed}); choose one with "
                         "--realm-name NAME (config worker.realm_name) or --realm HOST:PORT")


async def find_realm(name: str, interfaces: Iterable[str], browse_s: float, seeds: Iterable[str] = (),
                     tls: TLS | None = None) -> Found:
    """Browse, and ask the seeds, until the realm to join is found (see choose_realm); logs while none is
    there. A network where multicast cannot be used at all leaves the seeds. Returns as soon as the realm
    named has answered, or SETTLE_S after the first realm when no name is given."""
    from .seeds import merge

    interfaces, seeds = list(interfaces), list(seeds)
    what = f"realm {name!r}" if name else "realm"
    waited = 0.0
    said: set[str] = set()

    def once(level: int, message: str) -> None:  # the same trouble is logged once, not every round
        if message not in said:
            said.add(message)
            log.log(level, "%s", message)

    while True:
        heard, asked, failed = await _listen_and_ask(name, browse_s, interfaces, seeds, tls, once)
        for why in failed.values():
            once(logging.WARNING, why)
        found = merge(heard, asked)
        chosen = choose_realm(found, name)
        if chosen is not None:
            log.info("found realm %r at %s %s (id %s, %s)", chosen.name, chosen.address,
                     "on the local network" if chosen.via == "multicast" else "at a seed address",
                     chosen.txt.get("id", "?"), "TLS" if chosen.txt.get("tls") == "on" else "plaintext")
            return chosen
        waited += browse_s
        others = ", ".join(repr(f.name) for f in found) or "none"
        log.log(logging.WARNING if waited <= browse_s else logging.DEBUG,
                "no %s found on the local network%s after %.0f s (realms seen: %s); still looking "
                "(or give --realm HOST:PORT, or --seed HOST:PORT where multicast does not reach)", what,
                f" or at {len(seeds)} seed(s)" if seeds else "", waited, others)


async def _listen_and_ask(name: str, seconds: float, interfaces: list[str], seeds: list[str], tls: TLS | None,
                          once: Callable[[int, str], None]) -> tuple[list[Found], list[Found], dict[str, str]]:
    """Multicast and seeds at once: (heard, asked, seed -> why not). When one way has found the realm
    wanted, the other gets SETTLE_S more, not the whole `seconds`."""
    from .seeds import probe_seeds

    listening = asyncio.ensure_future(_realms_or_not(name, seconds, interfaces, once))
    asking = asyncio.ensure_future(probe_seeds(seeds, tls, seconds))
    try:
        done, pending = await asyncio.wait({listening, asking}, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            realms = listening.result() if listening in done else asking.result()[0]
            wanted = any(r.role == "realm" and (not name or r.name == name) for r in realms)
            await asyncio.wait(pending, timeout=SETTLE_S if wanted else None)
    finally:
        late = [t for t in (listening, asking) if not t.done()]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    heard = listening.result() if not listening.cancelled() else []
    asked, failed = asking.result() if not asking.cancelled() else ([], {})
    return heard, asked, failed


async def listen_for_realms(name: str, seconds: float, interfaces: Iterable[str] = ()) -> list[Found]:
    """The realms that answer, resolved: returned as soon as the one called `name` is there; with no name,
    SETTLE_S after the first (so that several present are all seen); else after `seconds`."""
    found: list[Found] = []
    first = asyncio.Event()
    done = asyncio.Event()
    resolving: set[asyncio.Task[None]] = set()
    browser: Browser

    async def resolve(service_type: str, instance: str) -> None:
        realm = await browser.resolve(service_type, instance)
        if realm is None or not realm.address:
            return
        found.append(realm)
        first.set()
        if name and realm.name == name:
            done.set()

    def changed(service_type: str, instance: str, added: bool) -> None:
        if added:
            task = asyncio.ensure_future(resolve(service_type, instance))
            resolving.add(task)
            task.add_done_callback(resolving.discard)

    async def settle() -> None:
        await first.wait()
        if not name:
            await asyncio.sleep(SETTLE_S)
            if resolving:  # heard of and still resolving: choosing before they are would be a guess
                await asyncio.wait(list(resolving))
            done.set()

    async with Browser(interfaces, (REALM_TYPE,), on_change=changed) as browser:
        settling = asyncio.ensure_future(settle())
        try:
            await asyncio.wait_for(done.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        finally:
            settling.cancel()
            for task in list(resolving):
                task.cancel()
    return sorted(found, key=lambda f: (f.name, f.address))


async def _realms_or_not(name: str, seconds: float, interfaces: list[str],
                         once: Callable[[int, str], None]) -> list[Found]:
    """listen_for_realms(), or nothing (said once) where multicast DNS cannot be used at all here."""
    try:
        return await listen_for_realms(name, seconds, interfaces)
    except (OSError, RuntimeError) as e:  # RuntimeError: zeroconf found no interface to listen on
        once(logging.WARNING, f"cannot browse the local network ({e}); relying on seed addresses "
                              "(`mtor discover --diagnose` says more)")
        await asyncio.sleep(seconds)
        return []
