"""`mtor admin GROUP [ACTION] [ARGS]`: every mtor.v1.Admin and mtor.v1.Peers call from a shell, with tables
people can read; a module per area, each with its `register(sub)`, sharing tree.py (the tree's shape).

Like the rest of the command line, this imports the client only when a command runs (or a flag's value is
checked), so that `mtor --help` stays fast."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..common import add_client_arguments, client_tls
from . import events, peers, pools, queue, tokens, usage, users, workers

if TYPE_CHECKING:
    from mtor_client import MtorError

    from ..common import Subparsers

AREAS = (workers, pools, queue, users, tokens, peers, usage, events)
"""In the order `mtor admin --help` lists their groups."""


def _hint(e: MtorError, realm: str) -> str:
    """The usual cause of the errors a person meets first."""
    return {"PERMISSION_DENIED": " (mtor admin needs a sysop's token: --token or $MTOR_TOKEN)",
            "UNAUTHENTICATED": " (check --token or $MTOR_TOKEN)",
            "UNAVAILABLE": f" (is the realm at {realm} running? --realm or $MTOR_REALM)"}.get(e.code.name, "")


def cmd_admin(args: argparse.Namespace) -> int:
    """Run the chosen handler; a failed call prints `mtor admin: CODE: message` and exits 1."""
    from mtor_client import MtorError
    from mtor_client.admin import AdminClient

    try:
        with AdminClient(args.realm, token=args.token, tls=client_tls(args)) as admin:
            return args.handler(admin, args)
    except MtorError as e:
        print(f"mtor admin: {e}{_hint(e, args.realm)}", file=sys.stderr)
        return 1


def register(sub: Subparsers) -> None:
    p = sub.add_parser("admin", help="run a realm as its sysop: workers, pools, queue, users, tokens, usage, audit, "
                       "peer realms")
    p.description = ("Run a realm as its sysop: every call needs a sysop's token (--token or $MTOR_TOKEN). "
                     "A group without an ACTION lists.")
    add_client_arguments(p)
    groups = p.add_subparsers(dest="group", required=True, metavar="GROUP")
    for area in AREAS:
        area.register(groups)
    p.set_defaults(func=cmd_admin)
