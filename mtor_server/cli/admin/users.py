"""`mtor admin users`: add, role, ban, unban, terminate."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Sequence

from ..common import plural, when
from .tree import choice, command, listing, show

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient


def _role(value: str) -> str:
    from mtor_client.admin import ROLES

    return choice(value, tuple(ROLES), "role")


def list_users(admin: AdminClient, args: argparse.Namespace) -> int:
    def row(u: Any) -> Sequence[object]:
        banned = (f"yes: {u.ban_reason}" if u.ban_reason else "yes") if u.banned else "no"
        return (u.name, u.role, banned, u.live_tokens, when(u.created_at))

    return show(args, admin.users(), ("NAME", "ROLE", "BANNED", "LIVE TOKENS", "CREATED"), row, "no users")


def add_user(admin: AdminClient, args: argparse.Namespace) -> int:
    user = admin.create_user(args.name, args.role)
    print(f"created {user.role} {user.name}; give them a token: mtor admin tokens create {user.name}")
    return 0


def set_role(admin: AdminClient, args: argparse.Namespace) -> int:
    user = admin.set_role(args.name, args.role)
    print(f"{user.name} is now a {user.role}")
    return 0


def ban_user(admin: AdminClient, args: argparse.Namespace) -> int:
    user = admin.ban(args.name, args.reason)
    print(f"banned {user.name}{f' ({user.ban_reason})' if user.ban_reason else ''}: their calls are refused "
          "and their queued and running intents were cancelled")
    return 0


def unban_user(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"unbanned {admin.unban(args.name).name}")
    return 0


def terminate_user(admin: AdminClient, args: argparse.Namespace) -> int:
    print(f"cancelled {plural(admin.terminate(args.name), 'intent')} of {args.name}")
    return 0


def _users(sub: Any) -> None:
    actions = listing(sub, "users", list_users, "users (no ACTION: list them)", actions=True)
    p = command(actions, "add", add_user, "a new user (then: mtor admin tokens create NAME)")
    p.add_argument("name")
    p.add_argument("--role", type=_role, default="user", help="user (default) or sysop")
    p = command(actions, "role", set_role, "make a user a sysop, or a sysop a user")
    p.add_argument("name")
    p.add_argument("role", type=_role, help="user or sysop")
    p = command(actions, "ban", ban_user, "refuse a user's calls and cancel their work")
    p.add_argument("name")
    p.add_argument("--reason", default="", help="shown to them")
    command(actions, "unban", unban_user, "lift a ban").add_argument("name")
    command(actions, "terminate", terminate_user, "cancel a user's work without banning").add_argument("name")


def register(sub: Any) -> None:
    _users(sub)
