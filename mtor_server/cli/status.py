"""`mtor status`: a realm's workers and queues, per kind."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .common import add_client_arguments, connect

if TYPE_CHECKING:
    from .common import Subparsers


def cmd_status(args: argparse.Namespace) -> int:
    from mtor_client import MtorError

    try:
        with connect(args) as client:
            info = client.describe(timeout=args.timeout)
    except MtorError as e:
        print(f"mtor: realm {args.realm} is not answering: {e}", file=sys.stderr)
        return 1
    print(f"realm {info.name!r} at {args.realm}: version {info.version}, up {info.uptime_s:.0f} s, "
          f"{info.running} running")
    if not info.kinds:
        print("no workers connected")
        return 0
    print(f"{'kind':<11} {'workers':>7} {'free':>5} {'queued':>6}  models")
    for k in info.kinds:
        print(f"{k.kind:<11} {k.workers:>7} {k.free_slots:>5} {k.queue_depth:>6}  {', '.join(k.models) or 'any'}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("status", help="show a realm's workers and queues")
    p.add_argument("--timeout", type=float, default=5.0, help="give up after this many seconds")
    add_client_arguments(p)
    p.set_defaults(func=cmd_status)
