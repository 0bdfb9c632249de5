"""The shape of `mtor admin`'s tree: a group that lists (`mtor admin workers`) with its actions below
(`mtor admin workers drain NAME`), each taking the client arguments at either level; and the flag value types
and worker state more than one area uses."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..common import add_client_arguments, print_json, table

if TYPE_CHECKING:
    from mtor_client.admin import AdminClient, WorkerInfo

Handler = Callable[["AdminClient", argparse.Namespace], int]


def show(args: argparse.Namespace, items: Sequence[Any], headers: Sequence[str],
         row: Callable[[Any], Sequence[object]], empty: str) -> int:
    """A listing as a table (or JSON with --json); `empty` says so plainly when there is nothing."""
    if args.json:
        print_json(items)
    else:
        print(table(headers, [row(item) for item in items]) if items else empty)
    return 0


def names(value: str) -> tuple[str, ...]:
    """"w1,w2" -> ("w1", "w2")."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


def choice(value: str, known: Sequence[str], what: str) -> str:
    if value not in known:
        raise argparse.ArgumentTypeError(f"unknown {what} {value!r}; use one of {', '.join(known)}")
    return value


def worker_kind(value: str) -> str:
    from mtor_client.kinds import WORKER_KINDS

    return choice(value, WORKER_KINDS, "kind")


def worker_state(w: WorkerInfo) -> str:
    states = []
    if w.blacklisted:
        states.append("blacklisted by sysop" if w.blacklisted_by_sysop else "blacklisted (health)")
    if w.draining:
        states.append("draining")
    return ", ".join(states) or "available"


def command(sub: Any, name: str, handler: Handler, help: str, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
    """A parser below `mtor admin` that runs `handler`; it takes --realm, --token and --data-dir too."""
    p = sub.add_parser(name, aliases=list(aliases), help=help, description=help)
    add_client_arguments(p, nested=True)
    p.set_defaults(handler=handler)
    return p


def listing(sub: Any, name: str, handler: Handler, help: str,
            flags: Callable[[argparse.ArgumentParser, Callable[[object], object]], object] | None = None,
            actions: bool = False, aliases: Sequence[str] = (), list_action: str = "list") -> Any:
    """`mtor admin NAME` lists (and with `actions`, so does `NAME list`, or `NAME LIST_ACTION`, and NAME's
    actions go in the returned subparsers). `flags(parser, default)` adds the listing's options; `default` keeps
    the outer value on `list`."""
    group = command(sub, name, handler, help, aliases)
    parsers = [(group, lambda value: value)]
    subparsers = None
    if actions:
        subparsers = group.add_subparsers(dest="action", metavar="ACTION")
        listing = command(subparsers, list_action, handler, f"the same as `mtor admin {name}`")
        parsers.append((listing, lambda value: argparse.SUPPRESS))
    for p, default in parsers:
        p.add_argument("--json", action="store_true", default=default(False), help="print JSON, not a table")
        if flags:
            flags(p, default)
    return subparsers


