"""Where a service listening on a host is announced: which addresses, on which interfaces."""
from __future__ import annotations

import ipaddress
import socket

from . import interface_addresses


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
