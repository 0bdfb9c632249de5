"""`mtor realm` and `mtor up`: serving a realm (with a local worker and gateway, for `up`)."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from .common import DEFAULT_REALM

if TYPE_CHECKING:
    from mtor_common.config import Config

    from .common import Subparsers


def _realm_config(args: argparse.Namespace) -> Config:
    import mtor_worker.backends  # noqa: F401  (declares the backends' sections: mtor.toml holds every setting)
    from mtor_common.config import data_dir, load

    cfg = load(data_dir(args.data_dir))
    if args.listen:
        cfg.realm.listen = args.listen
    if args.interface:
        cfg.discovery.interfaces = list(args.interface)
    if args.no_advertise:
        cfg.discovery.advertise = False
    if args.seed:
        cfg.discovery.seeds = list(args.seed)
    return cfg


def _add_realm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--listen", metavar="HOST:PORT", help="address to serve on (config realm.listen, "
                   f"default {DEFAULT_REALM}; port 0 picks a free one)")
    p.add_argument("--data-dir", metavar="DIR", help="config, database and logs (default $MTOR_DATA_DIR or ~/.mtor)")
    p.add_argument("--no-advertise", action="store_true", help="do not announce the realm on the local network "
                   "(config discovery.advertise)")
    p.add_argument("--interface", action="append", metavar="ADDRESS|NAME", help="announce on this interface only; "
                   "repeatable (config discovery.interfaces; default: all, or loopback only for a realm on a "
                   "loopback address)")
    p.add_argument("--seed", action="append", metavar="HOST:PORT", help="a peer realm to ask directly where "
                   "multicast does not reach; repeatable (config discovery.seeds)")


def _serve(start: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a realm until it stops. A data dir or database that cannot be written (a full disk, a read-only
    volume) is one clear line and exit status 1, so that a service manager sees the failure and can restart it."""
    import asyncio

    from ..store import StoreError

    try:
        return asyncio.run(start())
    except (StoreError, OSError) as e:
        print(f"mtor: the realm cannot run: {e}", file=sys.stderr)
        return 1


def cmd_realm(args: argparse.Namespace) -> int:
    from federation.extension import FederationExtension
    from mtor_common.config import data_dir

    from ..server import run_realm

    return _serve(lambda: run_realm(_realm_config(args), data_dir(args.data_dir), [FederationExtension()]))


def cmd_up(args: argparse.Namespace) -> int:
    from federation.extension import FederationExtension
    from mtor_common.config import data_dir

    from ..up import run_up

    return _serve(lambda: run_up(_realm_config(args), data_dir(args.data_dir), args.backend, not args.no_gateway,
                                 [FederationExtension()]))


def register(sub: Subparsers) -> None:
    p = sub.add_parser("realm", help="run a realm (the orchestrator)")
    _add_realm_arguments(p)
    p.set_defaults(func=cmd_realm)

    p = sub.add_parser("up", help="run a realm and a local worker: the quickest start")
    _add_realm_arguments(p)
    p.add_argument("--backend", action="append", metavar="NAME[,NAME]",
                   help="backends of the local worker (default: config worker.backends)")
    p.add_argument("--no-gateway", action="store_true", help="no gateway (browser page, OpenAI-compatible API)")
    p.set_defaults(func=cmd_up)
