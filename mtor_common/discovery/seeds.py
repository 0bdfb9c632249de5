"""Unicast fallback for networks that drop multicast (Wi-Fi isolation, VPNs,
routed subnets): seed addresses of realms, asked directly over gRPC
(RealmInfo.Describe) what an announcement would have told."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Iterable

from . import Found

if TYPE_CHECKING:
    from mtor_client import TLS

SEED_TIMEOUT_S = 2.0
"""How long one seed gets to answer."""


class SeedError(Exception):
    """A seed address did not answer as a realm; the message says how."""


async def probe_seed(seed: str, tls: TLS | None = None, timeout_s: float = SEED_TIMEOUT_S) -> Found:
    """The realm at `seed` (HOST:PORT, grpcs://HOST:PORT for TLS) as if it had been announced."""
    import grpc
    from mtor_client._proto.mtor.v1 import realm_pb2, realm_pb2_grpc
    from mtor_client.channels import channel_credentials, split_target
    from mtor_client.kinds import name_of

    from ..address import split_address

    try:
        address, secure = split_target(seed.strip(), tls)
        host, port = split_address(address)
    except ValueError as e:
        raise SeedError(f"seed {seed!r}: {e}") from None
    channel = (grpc.aio.secure_channel(address, channel_credentials(tls)) if secure
               else grpc.aio.insecure_channel(address))
    try:
        reply = await realm_pb2_grpc.RealmInfoStub(channel).Describe(realm_pb2.DescribeRequest(), timeout=timeout_s)
    except grpc.aio.AioRpcError as e:
        raise SeedError(f"seed {seed}: {e.code().name}: {e.details()}") from None
    finally:
        await channel.close(grace=None)
    served = sorted(name_of(k.kind) for k in reply.kinds if k.workers > 0)
    txt = {"id": reply.id, "name": reply.name, "protocol": str(reply.protocol), "kinds": ",".join(served),
           "tls": "on" if secure else "off", "join_token": "required"}
    return Found("realm", f"{reply.name} (seed {address})", [host], port, txt, via="seed")


async def probe_seeds(seeds: Iterable[str], tls: TLS | None = None,
                      timeout_s: float = SEED_TIMEOUT_S) -> tuple[list[Found], dict[str, str]]:
    """(the realms that answered, seed -> why it did not), all seeds asked at once."""
    seeds = [s.strip() for s in seeds if s.strip()]
    answers = await asyncio.gather(*(probe_seed(s, tls, timeout_s) for s in seeds), return_exceptions=True)
    found: list[Found] = []
    failed: dict[str, str] = {}
    for seed, answer in zip(seeds, answers):
        if isinstance(answer, Found):
            found.append(answer)
        elif isinstance(answer, SeedError):
            failed[seed] = str(answer)
        elif isinstance(answer, BaseException):
            failed[seed] = f"seed {seed}: {type(answer).__name__}: {answer}"
    return found, failed


def merge(*groups: Iterable[Found]) -> list[Found]:
    """One entry per realm or worker: the same realm heard by multicast and reached as a seed (same id)
    is kept once, as first given."""
    seen: set[tuple[str, str]] = set()
    out: list[Found] = []
    for found in (f for group in groups for f in group):
        key = (found.role, found.txt.get("id") or found.instance)
        if key not in seen:
            seen.add(key)
            out.append(found)
    return out
