"""`mtor admin pools`: pool aliases ($NAME models) and their specialisations."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Sequence

from ..common import table
from .tree import choice, command, listing, names, show, worker_kind

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient, Pool, Specialisation


SPECIAL_FORM = "TOPIC=KEYWORD[,KEYWORD...]:WORKER[,WORKER...]"


def _strategy(value: str) -> str:
    from mtor_client.admin import STRATEGIES

    return choice(value, tuple(STRATEGIES), "strategy")


def _specialisation(value: str) -> Specialisation:
    from mtor_client.admin import Specialisation

    topic, _, rest = value.partition("=")
    keywords, _, workers = rest.partition(":")
    special = Specialisation(topic.strip(), names(keywords), names(workers))
    if not (special.topic and special.keywords and special.workers):
        raise argparse.ArgumentTypeError(f"{value!r}: use {SPECIAL_FORM}")
    return special


def _special_text(special: Specialisation) -> str:
    """The form --special takes, so that a listed pool reads as the command that set it."""
    return f"{special.topic}={','.join(special.keywords)}:{','.join(special.workers)}"


def _pool_row(p: Pool) -> Sequence[object]:
    return (f"${p.name}", p.kind, p.strategy, ",".join(p.workers),
            " ".join(_special_text(s) for s in p.specialisations) or "-")


POOL_HEADERS = ("POOL", "KIND", "STRATEGY", "WORKERS", "SPECIALISATIONS")


def list_pools(admin: AdminClient, args: argparse.Namespace) -> int:
    return show(args, admin.pools(), POOL_HEADERS, _pool_row,
                "no pools (add one: mtor admin pools set NAME --kind KIND --workers W1,W2)")


def set_pool(admin: AdminClient, args: argparse.Namespace) -> int:
    from mtor_client.admin import Pool

    pool = admin.set_pool(Pool(args.name.lstrip("$"), args.kind, args.workers, args.strategy, tuple(args.special)))
    print(table(POOL_HEADERS, [_pool_row(pool)]))
    print(f"callers use it as the model ${pool.name}")
    return 0


def delete_pool(admin: AdminClient, args: argparse.Namespace) -> int:
    name = args.name.lstrip("$")
    admin.delete_pool(name)
    print(f"deleted pool ${name}; intents that waited for it fail")
    return 0


def _pools(sub: Any) -> None:
    actions = listing(sub, "pools", list_pools, "pool aliases: callers ask for the model $NAME (no ACTION: list)",
                      actions=True)
    p = command(actions, "set", set_pool, "create or replace a pool alias")
    p.add_argument("name", help="the alias, without the $")
    p.add_argument("--kind", type=worker_kind, required=True, help="the kind its members serve, e.g. chat")
    p.add_argument("--workers", type=names, required=True, metavar="W1,W2", help="its members")
    p.add_argument("--strategy", type=_strategy, default="auto",
                   help="auto (default), health, round_robin, least_busy or random")
    p.add_argument("--special", type=_specialisation, action="append", default=[], metavar="TOPIC=KW,KW:W,W",
                   help=f"{SPECIAL_FORM}: prefer these members for prompts with one of these words (repeatable)")
    command(actions, "delete", delete_pool, "delete a pool alias; what waits for it fails").add_argument(
        "name", help="the alias")


def register(sub: Any) -> None:
    _pools(sub)
