"""`mtor admin workers` (list, remove, drain, blacklist, readmit) and `mtor admin network`."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Sequence

from ..common import age, duration, print_json, table
from .tree import command, listing, show, worker_state

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient, Device, WorkerInfo


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f}"


def _kinds(capabilities: dict[str, tuple[str, ...]]) -> str:
    """chat[m1,m2] per kind; a kind alone serves any model."""
    return " ".join(f"{kind}[{','.join(models)}]" if models else kind for kind, models in capabilities.items())


def _device(d: Device) -> str:
    name = f"{d.type} {d.name}" if d.name and d.name != d.type else d.type
    return f"{name} {_gib(d.vram_free_bytes)}/{_gib(d.vram_total_bytes)} GiB" if d.vram_total_bytes else name


def _worker_row(w: WorkerInfo) -> Sequence[object]:
    return (w.name, w.health, worker_state(w), f"{w.running}/{w.max_concurrency}", _kinds(w.capabilities),
            "; ".join(_device(d) for d in w.devices) or "-", duration(w.heartbeat_age_s))


def list_workers(admin: AdminClient, args: argparse.Namespace) -> int:
    return show(args, admin.workers(), ("NAME", "HEALTH", "STATE", "RUNNING", "KINDS[MODELS]",
                                        "DEVICE (VRAM FREE/TOTAL)", "HEARTBEAT"), _worker_row,
                "no workers connected")


def list_network(admin: AdminClient, args: argparse.Namespace) -> int:
    """Workers seen around the realm (joined, refused with why, or only announced), then other realms."""
    network = admin.network()
    if args.json:
        print_json(network)
        return 0

    def worker_row(w: Any) -> Sequence[object]:
        state = w.state if w.state != "refused" else f"refused x{w.refusals}: {w.reason}"
        if w.state == "discovered" and w.serves_realm:
            state += f" (serves {w.serves_realm})"
        return (w.name or "?", w.address or "-", state, ",".join(w.kinds) or "-", w.device or "-", age(w.since))

    def realm_row(r: Any) -> Sequence[object]:
        return (r.name, r.address, r.id[:8], r.protocol, ",".join(r.kinds) or "-", "on" if r.tls else "off",
                r.found_by)

    print(table(("WORKER", "ADDRESS", "STATE", "KINDS", "DEVICE", "SINCE"), [worker_row(w) for w in network.workers])
          if network.workers else "no workers seen")
    print()
    print(table(("REALM", "ADDRESS", "ID", "PROTOCOL", "KINDS", "TLS", "FOUND BY"),
                [realm_row(r) for r in network.realms]) if network.realms else "no other realms seen")
    if not network.watching:
        print("\nnot listening for announcements on the local network (config discovery.watch, or it failed: see "
              "the realm's log); only connections and seeds are known")
    for error in network.seed_errors:
        print(f"seed: {error}")
    return 0


def _worker_done(verb: str, w: WorkerInfo) -> int:
    print(f"{verb} {w.name}: {worker_state(w)}, {w.running}/{w.max_concurrency} running")
    return 0


def remove_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    admin.remove_worker(args.name)
    print(f"removed {args.name}: disconnected, its work goes to other workers; it is refused until "
          f"`mtor admin workers readmit {args.name}`")
    return 0


def drain_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    return _worker_done("drained", admin.drain_worker(args.name))


def blacklist_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    return _worker_done("blacklisted", admin.blacklist_worker(args.name))


def readmit_worker(admin: AdminClient, args: argparse.Namespace) -> int:
    worker = admin.readmit_worker(args.name)
    if worker is None:
        print(f"readmitted {args.name}: not connected now; it may join again")
        return 0
    return _worker_done("readmitted", worker)


def _workers(sub: Any) -> None:
    actions = listing(sub, "workers", list_workers, "connected workers (no ACTION: list them)", actions=True)
    for name, handler, help in (
            ("remove", remove_worker, "disconnect a worker now (its work goes elsewhere) and refuse it until readmit"),
            ("drain", drain_worker, "give a worker no new work; what it runs finishes"),
            ("blacklist", blacklist_worker, "no new work for a worker until readmit (unlike a health blacklisting)"),
            ("readmit", readmit_worker, "undo remove, drain or blacklist (or a health blacklisting)")):
        command(actions, name, handler, help).add_argument("name", help="the worker's name")


def _network(sub: Any) -> None:
    listing(sub, "network", list_network, "workers seen on the network (joined, refused and why, or only "
            "announced) and other realms")


def register(sub: Any) -> None:
    _workers(sub)
    _network(sub)
