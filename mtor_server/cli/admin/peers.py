"""`mtor admin peer` (peer realms: list, add, remove) and `mtor admin federation` (usage between them)."""
from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence

from ..common import cost, print_json, table, when
from .tree import choice, command, listing, names, show

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient, FederationTotals, PeerInfo


def _kinds_list(value: str) -> tuple[str, ...]:
    """"chat,speak" -> ("chat", "speak"), each a kind."""
    from mtor_client.kinds import KINDS

    return tuple(choice(kind, KINDS, "kind") for kind in names(value))


def _since(value: str) -> datetime:
    """An ISO 8601 date or date and time (2025-03-04, 2025-03-04T12:00, ...+02:00); local time without an offset."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use an ISO 8601 date or time, e.g. 2025-03-04 or "
                                         "2025-03-04T09:30") from None
    return at if at.tzinfo else at.astimezone()  # a naive time is local


def _peer_state(p: PeerInfo) -> str:
    return f"{p.state}, not healthy" if p.state == "up" and not p.healthy else p.state


def _peer_row(p: PeerInfo) -> Sequence[object]:
    """KINDS: what its last capacity report offers this realm, with free slots."""
    kinds = ", ".join(f"{k.kind}:{k.free_slots} free" for k in p.capacity)
    return (p.name, p.address or "-", _peer_state(p), kinds or "-", f"{p.rtt_ms:.1f}ms" if p.rtt_ms else "-",
            p.running, p.detail or "-")


PEER_HEADERS = ("NAME", "ADDRESS", "STATE", "KINDS", "RTT", "RUNNING", "DETAIL")


def list_peers(admin: AdminClient, args: argparse.Namespace) -> int:
    return show(args, admin.peers(), PEER_HEADERS, _peer_row,
                "no peers (add one: mtor admin peer add NAME --address HOST:PORT --peer-token TOKEN)")


def add_peer(admin: AdminClient, args: argparse.Namespace) -> int:
    new = admin.add_peer(args.name, address=args.address, token=args.peer_token, kinds=args.kinds,
                         requests_per_minute=args.rpm, budget=args.budget)
    if args.json:
        print_json(new)
        return 0
    p = new.peer
    print(table(PEER_HEADERS, [_peer_row(p)]))
    rate = f"{p.requests_per_minute} intents/min" if p.requests_per_minute else "no limit"
    budget = f"{cost(p.budget)} per budget period" if p.budget else "no limit"
    print(f"\naccepted from {p.name}: {','.join(p.kinds) or 'every kind'}; rate {rate}; budget {budget}")
    if not new.token:
        print(f"{p.name} was known already: the token it presents here is unchanged")
        return 0
    print(f"the token {p.name} presents when it calls this realm (not shown again):\n{new.token}")
    print(f"give it to {p.name}'s sysop, who runs: mtor admin peer add THIS-REALM --address THIS-ADDRESS "
          f"--peer-token {new.token}")
    return 0


def remove_peer(admin: AdminClient, args: argparse.Namespace) -> int:
    admin.remove_peer(args.name)
    print(f"removed peer {args.name}: its token is revoked and the link closed; intents it ran for this realm go "
          "elsewhere")
    return 0


def _totals_text(t: FederationTotals) -> str:
    return f"{t.intents}/{t.succeeded}"


def federation_usage(admin: AdminClient, args: argparse.Namespace) -> int:
    since = f" since {when(args.since)}" if args.since else ""
    return show(args, admin.federation_usage(args.since),
                ("PEER", "FOR THEM", "COST FOR THEM", "FOR US", "COST FOR US"),
                lambda u: (u.peer, _totals_text(u.served_for_them), cost(u.served_for_them.cost),
                           _totals_text(u.served_for_us), cost(u.served_for_us.cost)),
                f"no intents between this realm and its peers{since}")


def _peers(sub: Any) -> None:
    actions = listing(sub, "peer", list_peers, "peer realms and their links (no ACTION: list them)", actions=True,
                      aliases=("peers",))
    p = command(actions, "add", add_peer, "trust a peer realm, or change it; a new one's token is shown once")
    p.add_argument("name", help="a name for it (letters, digits, ., _, -)")
    p.add_argument("--address", default="", metavar="HOST:PORT",
                   help="where to call it (grpcs://HOST:PORT for TLS); default: it only calls this realm")
    p.add_argument("--peer-token", default="", metavar="TOKEN",
                   help="the token its sysop made for this realm (needed with --address; --token is yours)")
    p.add_argument("--kinds", type=_kinds_list, default=(), metavar="KIND,KIND",
                   help="kinds accepted from it (default: every kind)")
    p.add_argument("--rpm", type=int, default=0, metavar="N", help="intents per minute accepted from it (0: no limit)")
    p.add_argument("--budget", type=float, default=0.0, metavar="X",
                   help="cost served for it per budget period (0: no limit)")
    p.add_argument("--json", action="store_true", help="print JSON, with the token, not a table")
    command(actions, "remove", remove_peer, "stop trusting a peer realm: revoke its token, close the link"
            ).add_argument("name")


def _federation(sub: Any) -> None:
    listing(sub, "federation", federation_usage, "per peer realm: intents served for it and by it, with their "
            "cost (no ACTION: usage)", lambda p, default: p.add_argument(
                 "--since", type=_since, default=default(None), metavar="TIME",
                 help="only intents finished since then (ISO 8601, e.g. 2025-03-04 or 2025-03-04T09:30)"),
            actions=True, list_action="usage")


def register(sub: Any) -> None:
    _peers(sub)
    _federation(sub)
