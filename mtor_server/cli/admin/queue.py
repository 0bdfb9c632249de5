"""`mtor admin queue`: every user's running and queued intents; cancel one, clear the queue."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Sequence

from ..common import age, plural
from .tree import command, listing, show, worker_kind

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient


def list_queue(admin: AdminClient, args: argparse.Namespace) -> int:
    def row(e: Any) -> Sequence[object]:
        i = e.intent
        where = i.worker if i.state == "running" else f"#{i.queue_position}" if i.queue_position else "-"
        return (i.intent_id, e.user, i.kind, i.model or "any", i.state, where, age(i.created_at))

    return show(args, admin.queue(), ("ID", "USER", "KIND", "MODEL", "STATE", "WORKER/POSITION", "AGE"), row,
                "the queue is empty: nothing queued or running")


def cancel_intent(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"{args.intent_id}: {admin.cancel_intent(args.intent_id, args.reason)}")
    return 0


def clear_queue(admin: AdminClient, args: argparse.Namespace) -> int:
    cancelled = admin.clear_queue(args.kind or "")
    print(f"cancelled {plural(cancelled, 'queued intent')}{f' of kind {args.kind}' if args.kind else ''}; "
          "running ones go on")
    return 0


def _queue(sub: Any) -> None:
    actions = listing(sub, "queue", list_queue, "running intents, then queued ones in order (no ACTION: list)",
                      actions=True)
    p = command(actions, "cancel", cancel_intent, "cancel any user's intent")
    p.add_argument("intent_id", metavar="ID")
    p.add_argument("--reason", default="", help="told to its user (default: cancelled by the sysop)")
    p = command(actions, "clear", clear_queue, "cancel every queued intent (running ones finish)")
    p.add_argument("--kind", type=worker_kind, default=None, help="only this kind (default: every kind)")


def register(sub: Any) -> None:
    _queue(sub)
