"""What a realm sees around it, for Admin ListNetwork: workers announced on the
local network (joined or not), the workers it refused and why, and other
realms, announced or answering at a seed address (the federation's peers)."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from mtor_client._proto.mtor.v1 import admin_pb2

from mtor_common.discovery import REALM_TYPE, WORKER_TYPE, Browser, Found
from mtor_common.discovery.seeds import merge, probe_seeds

from ..records import stamp

if TYPE_CHECKING:
    from mtor_client import TLS

    from ..scheduler import ConnectedWorker

log = logging.getLogger("mtor.discovery")

MAX_REFUSALS = 256
"""Refused workers remembered; the oldest goes first."""
REFUSAL_TTL_S = 3600.0
"""A refused worker that has not tried again for this long is forgotten."""
SEED_INTERVAL_S = 10.0
"""How often the realm asks its seeds again."""


@dataclass
class Refusal:
    """A worker the realm would not take, and its latest attempt."""

    name: str
    address: str
    reason: str
    at: float
    """Latest attempt, unix seconds."""
    count: int = 1


def peer_host(peer: str) -> str:
    """The IP of a gRPC peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"); "" for others (unix:...)."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return ""
    return rest.rpartition(":")[0].strip("[]")


class NetworkView:
    """Kept by the realm while it runs. `interfaces` None: do not listen for announcements
    (discovery.watch off); seeds are asked all the same."""

    def __init__(self, own_id: str, interfaces: list[str] | None, seeds: Iterable[str] = (),
                 tls: TLS | None = None) -> None:
        self._own_id = own_id
        self._interfaces = interfaces
        self._seeds = [s for s in seeds if s.strip()]
        self._tls = tls
        self._browser: Browser | None = None
        self._heard_at: dict[tuple[str, str], float] = {}
        self._refusals: OrderedDict[str, Refusal] = OrderedDict()
        self._seeded: list[Found] = []
        self._seed_errors: dict[str, str] = {}
        self._seeding: asyncio.Task[None] | None = None

    @property
    def watching(self) -> bool:
        return self._browser is not None

    async def start(self) -> None:
        """Listen and ask the seeds; a network that cannot be listened on is logged, never fatal."""
        if self._interfaces is not None:
            browser = Browser(self._interfaces, (REALM_TYPE, WORKER_TYPE), self._on_change)
            try:
                self._browser = await browser.__aenter__()
            except Exception as e:
                log.warning("cannot listen for workers and realms on the local network: %s", e)
        if self._seeds:
            self._seeding = asyncio.get_running_loop().create_task(self._ask_seeds(), name="mtor-discovery-seeds")

    async def stop(self) -> None:
        if self._seeding is not None:
            self._seeding.cancel()
            await asyncio.gather(self._seeding, return_exceptions=True)
        if self._browser is not None:
            browser, self._browser = self._browser, None
            await browser.__aexit__(None, None, None)

    def _on_change(self, service_type: str, instance: str, added: bool) -> None:
        if added:
            self._heard_at[(service_type, instance)] = time.time()
        else:
            self._heard_at.pop((service_type, instance), None)

    async def _ask_seeds(self) -> None:
        while True:
            found, failed = await probe_seeds(self._seeds, self._tls)
            self._seeded = [f for f in found if f.txt.get("id") != self._own_id]
            for seed, why in failed.items():
                if self._seed_errors.get(seed) != why:
                    log.warning("%s", why)
            self._seed_errors = failed
            await asyncio.sleep(SEED_INTERVAL_S)

    # -------------------------------------------------------------- refusals --

    def refused(self, name: str, address: str, reason: str) -> None:
        """A worker was refused (bad join token, other protocol, removed by the sysop, bad hello)."""
        key = name or f"@{address}"
        now = time.time()
        earlier = self._refusals.pop(key, None)
        self._refusals[key] = Refusal(name, address, reason, now, earlier.count + 1 if earlier else 1)
        while len(self._refusals) > MAX_REFUSALS:
            self._refusals.popitem(last=False)

    def joined(self, name: str) -> None:
        """A worker was admitted: whatever refused it before no longer holds."""
        self._refusals.pop(name, None)

    def _current_refusals(self) -> list[Refusal]:
        oldest = time.time() - REFUSAL_TTL_S
        for key in [k for k, r in self._refusals.items() if r.at < oldest]:
            del self._refusals[key]
        return list(self._refusals.values())

    # --------------------------------------------------------------- listing --

    async def listing(self, joined: Iterable[ConnectedWorker]) -> admin_pb2.ListNetworkResponse:
        """Workers by name (joined, else refused, else discovered) and the other realms."""
        from mtor_client.kinds import to_proto

        announced = await self._browser.resolve_all() if self._browser is not None else []
        rows: dict[str, admin_pb2.NetworkWorker] = {}
        for found in (f for f in announced if f.role == "worker"):
            txt = found.txt
            row = admin_pb2.NetworkWorker(
                name=found.name, state=admin_pb2.NETWORK_WORKER_STATE_DISCOVERED, address=found.address,
                kinds=_kinds(txt.get("kinds", "")), models=_items(txt.get("models", "")),
                device=txt.get("device", ""), vram_total_bytes=_int(txt.get("vram_mb")) * 1024 * 1024,
                version=txt.get("version", ""), protocol=_int(txt.get("protocol")),
                serves_realm=txt.get("realm", ""), announced=True)
            stamp(row.since, self._heard_at.get((WORKER_TYPE, found.instance)))
            rows[found.name] = row
        for refusal in self._current_refusals():
            row = rows.setdefault(refusal.name or f"@{refusal.address}", admin_pb2.NetworkWorker(name=refusal.name))
            row.state, row.reason, row.refusals = admin_pb2.NETWORK_WORKER_STATE_REFUSED, refusal.reason, refusal.count
            row.address = row.address or refusal.address
            stamp(row.since, refusal.at)
        for worker in joined:
            row = rows.setdefault(worker.name, admin_pb2.NetworkWorker(name=worker.name))
            row.state, row.reason, row.refusals = admin_pb2.NETWORK_WORKER_STATE_JOINED, "", 0
            row.address = row.address or worker.address
            del row.kinds[:], row.models[:]
            row.kinds.extend(to_proto(k) for k in sorted(worker.capabilities))
            row.models.extend(sorted({m for models in worker.capabilities.values() for m in models}))
            gpu = [d for d in worker.devices if d.vram_total_bytes]
            row.device = ",".join(d.name for d in (gpu or worker.devices)) or row.device
            row.vram_total_bytes = sum(d.vram_total_bytes for d in gpu)
            row.version = worker.version
            stamp(row.since, worker.connected_at)
        realms = [self._realm_row(f) for f in self._others(announced)]
        return admin_pb2.ListNetworkResponse(
            workers=[rows[k] for k in sorted(rows)], realms=sorted(realms, key=lambda r: (r.name, r.address)),
            watching=self.watching, seed_errors=[self._seed_errors[s] for s in sorted(self._seed_errors)])

    async def other_realms(self) -> list[Found]:
        """The other realms announced on the network or answering at a seed, one entry each."""
        return self._others(await self._browser.resolve_all() if self._browser is not None else [])

    def _others(self, announced: list[Found]) -> list[Found]:
        return [f for f in _one_per_realm(announced, self._seeded) if f.txt.get("id") != self._own_id]

    @staticmethod
    def _realm_row(found: Found) -> admin_pb2.NetworkRealm:
        txt = found.txt
        return admin_pb2.NetworkRealm(
            id=txt.get("id", ""), name=found.name, address=found.address, protocol=_int(txt.get("protocol")),
            kinds=_kinds(txt.get("kinds", "")), tls=txt.get("tls") == "on",
            join_token_required=txt.get("join_token") == "required",
            found_by=admin_pb2.FOUND_BY_SEED if found.via == "seed" else admin_pb2.FOUND_BY_MULTICAST)


def _one_per_realm(announced: list[Found], seeded: list[Found]) -> list[Found]:
    return merge([f for f in announced if f.role == "realm"], seeded)


def _items(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


def _kinds(text: str) -> list[int]:
    """Announced kind names as enum values; names this version does not know are left out."""
    from mtor_client.kinds import to_proto

    out = []
    for name in _items(text):
        try:
            out.append(to_proto(name))
        except ValueError:
            continue
    return out


def _int(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0
