"""`mtor admin broadcast`, `audit` and `watch`: notices out, the log of changes, the realm live."""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..common import plural, when
from .tree import command, listing, show, worker_state

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient, RealmSnapshot


def broadcast(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"notice sent to {plural(admin.broadcast(' '.join(args.text)), 'recipient')}")
    return 0


def audit(admin: AdminClient, args: argparse.Namespace) -> int:
    return show(args, admin.audit(args.limit), ("TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"),
                lambda e: (when(e.time), e.actor, e.action, e.target or "-", e.detail or "-"),
                "the audit log is empty")


def _clock(at: datetime | None) -> str:
    return (at or datetime.now(timezone.utc)).astimezone().strftime("%H:%M:%S")


def snapshot_text(s: RealmSnapshot) -> str:
    """A snapshot in one line: each worker's health, load and state; each kind's queue."""
    workers = ", ".join(f"{w.name} {w.health}% {w.running}/{w.max_concurrency}"
                        + ("" if worker_state(w) == "available" else f" {worker_state(w)}") for w in s.workers)
    queue = ", ".join(f"{k.kind} {k.running} running {k.queued} queued" for k in s.kinds) or "empty"
    workers = f"workers {len(s.workers)}{f': {workers}' if workers else ''}"
    return f"{workers}  |  queue {queue}  |  users {s.users_connected}"


def watch(admin: AdminClient, args: argparse.Namespace) -> int:
    """A line per snapshot that shows something new (heartbeats alone make snapshots too), and per notice, until
    Ctrl-C: that is how a person ends it, so it is a success."""
    from mtor_client.admin import RealmSnapshot

    last = ""
    try:
        for event in admin.watch(min_interval_s=args.interval):
            if isinstance(event, RealmSnapshot):
                text = snapshot_text(event)
                if text == last:
                    continue
                last = text
            else:
                text = f"notice [{event.level}] {event.text}"
            print(f"{_clock(event.time)}  {text}", flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


def register(sub: Any) -> None:
    command(sub, "broadcast", broadcast, "send a notice to every caller following notices").add_argument(
        "text", nargs="+")
    listing(sub, "audit", audit, "the audit log of every Admin change, newest first",
            lambda p, default: p.add_argument("--limit", type=int, default=default(100), metavar="N",
                                              help="most entries (default %(default)s)"))
    command(sub, "watch", watch, "the realm live: a line per change and each notice, until Ctrl-C").add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="least seconds between two lines (default 1)")
