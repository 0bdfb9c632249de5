"""The realm's announcement: `_mtor._tcp.local.` with its id, name, protocol,
the kinds it serves now, TLS on/off and that workers need a join token."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from . import REALM_TYPE, Advertiser, interface_addresses

if TYPE_CHECKING:
    from ..config import Config
    from ..realm import Realm

log = logging.getLogger("mtor.discovery")

def _ipv4_addresses(all_interfaces: bool, chosen: list[str]) -> list[str]:
    """The addresses to announce for a realm listening on every address."""
    if chosen:
        return chosen
    import ifaddr

    found = [ip.ip for a in ifaddr.get_adapters() for ip in a.ips
             if isinstance(ip.ip, str) and not ipaddress.IPv4Address(ip.ip).is_loopback]
    return list(dict.fromkeys(found)) or ["127.0.0.1"]


def where_to_announce(listen_host: str, interfaces: list[str]) -> tuple[list[str], list[str]] | None:
    """(addresses to announce, interfaces to announce on) for a realm listening on `listen_host`;
    None when it cannot be announced (IPv6 only). A realm on a loopback address is announced on
    loopback only: nobody elsewhere could reach it."""
    host = listen_host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        chosen = interface_addresses(interfaces)
        addresses = _ipv4_addresses(True, chosen)
        return addresses, chosen or addresses
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host))
        except OSError:
            return None
    if ip.version != 4:
        return None
    if ip.is_loopback:
        return ["127.0.0.1"], ["127.0.0.1"]
    return [str(ip)], interface_addresses(interfaces) or [str(ip)]


def realm_txt(realm: Realm, tls: bool) -> dict[str, str]:
    from mtor_client.kinds import name_of

    from .. import PROTOCOL

    served = sorted(name_of(k.kind) for k in realm.describe().kinds if k.workers > 0)
    return {"id": realm.id, "name": realm.name, "protocol": str(PROTOCOL), "kinds": ",".join(served),
            "tls": "on" if tls else "off", "join_token": "required"}


class RealmAnnouncement:
    """The realm's announcement, its TXT kept up to date with the kinds served."""

    def __init__(self, advertiser: Advertiser, realm: Realm, tls: bool, txt: dict[str, str]) -> None:
        self.advertiser, self._realm, self._tls = advertiser, realm, tls
        self._txt = txt
        """What is announced now."""
        self._changed = realm.watch_changes()
        self._changed.set()  # workers may have come while the announcement was being registered
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="mtor-discovery-txt")

    async def _follow(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            txt = realm_txt(self._realm, self._tls)
            if txt != self._txt:
                self._txt = txt
                try:
                    await self.advertiser.update(txt)
                except Exception as e:  # the realm serves on regardless
                    log.warning("could not update the announcement: %s", e)
            await asyncio.sleep(0.5)  # at most two updates a second, however busy the realm

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._realm.unwatch_changes(self._changed)
        await self.advertiser.stop()


async def announce_realm(cfg: Config, realm: Realm, listen_host: str, port: int) -> RealmAnnouncement | None:
    """Announce the realm per [discovery]; None when turned off or impossible (logged, never fatal)."""
    if not cfg.discovery.advertise:
        return None
    from ..tls import server_mode

    try:
        where = where_to_announce(listen_host, cfg.discovery.interfaces)
        if where is None:
            log.warning("realm.listen %s has no IPv4 address to announce; not announced", listen_host)
            return None
        addresses, interfaces = where
        tls = server_mode(cfg.tls) != "plaintext"
        txt = realm_txt(realm, tls)
        advertiser = await Advertiser.start(REALM_TYPE, realm.name, realm.id, port, addresses, txt, interfaces)
    except Exception as e:
        log.warning("could not announce the realm on the local network: %s", e)
        return None
    return RealmAnnouncement(advertiser, realm, tls, txt)
