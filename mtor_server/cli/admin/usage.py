"""`mtor admin quota` and `mtor admin stats`: what users may spend and what they used."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..common import cost, duration, plural, print_json, table, when
from .tree import command, listing

if TYPE_CHECKING:
    from mtor_client import QuotaStatus, UsageReport
    from mtor_client.admin import AdminClient


def _quota_text(q: QuotaStatus | None) -> str:
    if q is None:
        return "-"
    rate = f"{q.requests_per_minute} intents/min" if q.requests_per_minute else "no limit"
    budget = f"{cost(q.budget)} per {duration(q.budget_period_s)}" if q.budget else "no limit"
    ends = f" (ends {when(q.period_ends)})" if q.period_ends else ""
    return f"rate {rate}; budget {budget}; spent {cost(q.spent)} this period{ends}"


def set_quota(admin: AdminClient, args: argparse.Namespace) -> int:
    status = admin.set_quota(args.user, requests_per_minute=args.rpm, budget=args.budget)
    print(f"quota of {args.user}: {_quota_text(status)}")
    return 0


def _kinds_table(report: UsageReport) -> str:
    rows = [(k.kind, k.intents, k.succeeded, duration(k.processing_s), duration(k.queue_wait_s), cost(k.cost),
             duration(k.mean_service_s)) for k in report.kinds]
    headers = ("KIND", "INTENTS", "SUCCEEDED", "PROCESSING", "QUEUE WAIT", "COST", "MEAN SERVICE")
    return table(headers, rows) if rows else "no intents finished yet"


def stats(admin: AdminClient, args: argparse.Namespace) -> int:
    s = admin.stats(args.user)
    if args.json:
        print_json(s)
        return 0
    realm = s.realm
    print(f"realm: {plural(realm.intents, 'intent')}, {duration(realm.processing_s)} processing, cost "
          f"{cost(realm.cost)}; users connected now {s.users_connected}, most ever {s.most_users_connected}")
    print(f"\n{_kinds_table(realm)}\n")
    rows = [(u.user, u.intents, duration(u.processing_s), cost(u.cost), _quota_text(u.quota)) for u in s.users]
    print(table(("USER", "INTENTS", "PROCESSING", "COST", "QUOTA"), rows) if rows else "no user has used the realm")
    for user in s.users if args.user else ():
        print(f"\n{user.user} by kind:\n{_kinds_table(user)}")
    return 0


def register(sub: Any) -> None:
    p = command(sub, "quota", set_quota, "set a user's quota; limits left out return to the realm's defaults")
    p.add_argument("user")
    p.add_argument("--rpm", type=int, default=None, metavar="N", help="intents per minute (0: no limit)")
    p.add_argument("--budget", type=float, default=None, metavar="X", help="cost per budget period (0: no limit)")
    listing(sub, "stats", stats, "usage of the realm, per kind and per user",
            lambda p, default: p.add_argument("--user", default=default(""), help="only this user"))
