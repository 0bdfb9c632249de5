"""`mtor admin tokens`: list, create (a user's), join (a worker's), revoke."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..common import when
from .tree import command, listing, show

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient


def list_tokens(admin: AdminClient, args: argparse.Namespace) -> int:
    def row(t: Any) -> Sequence[object]:
        return (t.prefix, t.purpose, t.user or "-", t.label or "-", when(t.created_at), when(t.expires_at, "never"),
                when(t.revoked_at))

    return show(args, admin.tokens(args.user, include_dead=args.all),
                ("PREFIX", "PURPOSE", "USER", "LABEL", "CREATED", "EXPIRES", "REVOKED"), row,
                "no tokens" if args.all else "no live tokens (--all shows revoked and expired ones too)")


def _new_token(new: Any, whose: str) -> int:
    """The secret alone on stdout (so that `$(mtor admin tokens create ...)` captures it), the rest on stderr."""
    info = new.info
    print(f"{whose} (prefix {info.prefix}, label {info.label or '-'}, expires {when(info.expires_at, 'never')}):",
          file=sys.stderr, flush=True)
    print(new.token, flush=True)
    print("keep it now: it is not shown again (the realm keeps only its hash)", file=sys.stderr)
    return 0


def create_token(admin: AdminClient, args: argparse.Namespace) -> int:
    return _new_token(admin.create_token(args.user, label=args.label, ttl_s=args.ttl), f"token for {args.user}")


def create_join_token(admin: AdminClient, args: argparse.Namespace) -> int:
    return _new_token(admin.create_join_token(label=args.label, ttl_s=args.ttl),
                      "worker join token (mtor worker --join-token, or $MTOR_JOIN_TOKEN)")


def revoke_token(admin: AdminClient, args: argparse.Namespace) -> int:
    t = admin.revoke_token(args.prefix)
    print(f"revoked {t.prefix} ({t.purpose} token{f' of {t.user}' if t.user else ''}, label {t.label or '-'})")
    return 0


def _token_list_flags(p: argparse.ArgumentParser, default: Callable[[object], object]) -> None:
    p.add_argument("--user", default=default(""), help="only this user's tokens")
    p.add_argument("--all", action="store_true", default=default(False), help="revoked and expired ones too")


def _tokens(sub: Any) -> None:
    actions = listing(sub, "tokens", list_tokens, "tokens, without their secrets (no ACTION: list the live ones)",
                      _token_list_flags, actions=True)
    create = command(actions, "create", create_token, "a new token for a user: shown once")
    create.add_argument("user")
    join = command(actions, "join", create_join_token, "a new worker join token: shown once")
    for p in (create, join):
        p.add_argument("--label", default="", help="a note, e.g. where it will be used")
        p.add_argument("--ttl", type=float, default=0, metavar="SECONDS", help="lifetime (default: never expires)")
    command(actions, "revoke", revoke_token, "revoke a token").add_argument(
        "prefix", help="the start of its prefix, as listed; must match one live token")


def register(sub: Any) -> None:
    _tokens(sub)
