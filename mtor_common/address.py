"""HOST:PORT addresses: split, joined, and whether one stays on this machine.
Imports nothing of the realm, so the realm, the worker and auth can share it."""
from __future__ import annotations

import ipaddress


def host_of(address: str) -> str:
    """The host of HOST:PORT (brackets of an IPv6 host removed); "" when there is none."""
    return address.rpartition(":")[0].strip("[]")


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def join_address(host: str, port: int) -> str:
    """HOST:PORT, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
