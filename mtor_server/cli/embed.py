"""`mtor embed`: one vector per text, printed a line each (or as JSON)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import add_intent_arguments, connect, report, run_intent, show_progress

if TYPE_CHECKING:
    from .common import Subparsers


def cmd_embed(args: argparse.Namespace) -> int:
    def ask() -> int:
        with connect(args) as client:
            result = client.embed(args.texts, model=args.model, timeout=args.timeout, on_event=show_progress)
        return report(args, result, "\n".join(" ".join(f"{v:.6g}" for v in vector) for vector in result.vectors))

    return run_intent(ask)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("embed", help="embed texts: print one vector per text, a line each, in order")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="a text to embed (quote it); several give several "
                   "vectors")
    add_intent_arguments(p)
    p.set_defaults(func=cmd_embed)
