"""`mtor worker`: command-line flags over the shared config file.

The lead's `mtor` command calls `add_arguments(parser)` on its `worker`
subparser and `main(args)`. Every flag defaults to "absent" (SUPPRESS) so that
only flags actually given override mtor.toml / MTOR_WORKER_* values, and so
that they never clobber options a parent parser defines. Importing this module
stays cheap: grpc and the runtime are imported by main().
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtor_common.config import Config



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the worker's flags to `parser`."""
    s = argparse.SUPPRESS
    parser.add_argument("--realm", metavar="HOST:PORT", default=s,
                        help="realm to connect to (config worker.realm); left out and not configured: find one "
                             "on the local network")
    parser.add_argument("--realm-name", metavar="NAME", default=s,
                        help="without --realm: join the realm of this name found on the local network (config "
                             "worker.realm_name; default: the only one found)")
    parser.add_argument("--interface", metavar="ADDRESS|NAME", action="append", default=s,
                        help="look for realms (and announce the worker) on this interface only; repeatable "
                             "(config discovery.interfaces; default: all)")
    parser.add_argument("--seed", metavar="HOST:PORT", action="append", default=s,
                        help="without --realm: also ask the realm at this address, for networks where multicast "
                             "does not reach; repeatable (config discovery.seeds)")
    parser.add_argument("--no-advertise", action="store_true", default=s,
                        help="do not announce this worker on the local network (config discovery.advertise)")
    parser.add_argument("--name", default=s,
                        help="worker name, unique within the realm (config worker.name; default: host name)")
    parser.add_argument("--backend", metavar="NAME[,NAME]", action="append", default=s,
                        help="backend(s) to run; repeatable or comma-separated (config worker.backends)")
    parser.add_argument("--join-token", metavar="TOKEN", default=s,
                        help="the realm's worker join token (default: $MTOR_JOIN_TOKEN)")
    parser.add_argument("--max-concurrency", metavar="N", type=int, default=s,
                        help="most intents run at once (config worker.max_concurrency)")
    parser.add_argument("--echo-delay", metavar="SECONDS", type=float, default=s,
                        help="echo backend: pause before each streamed chunk (config worker.echo_delay_s)")
    parser.add_argument("--data-dir", metavar="DIR", default=s,
                        help="directory holding mtor.toml (default: $MTOR_DATA_DIR or ~/.mtor)")
    parser.add_argument("--log-level", default=s, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        type=str.upper, help="logging level (default INFO)")


def config_from(args: argparse.Namespace) -> Config:
    """The config file (and MTOR_* variables) with the given flags applied on top."""
    import mtor_worker.backends  # noqa: F401  (declares the backends' sections: mtor.toml holds every setting)
    from mtor_common.config import data_dir, load

    cfg = load(data_dir(getattr(args, "data_dir", None)))
    worker = cfg.worker
    if getattr(args, "realm", None):
        worker.realm = args.realm
    if getattr(args, "realm_name", None):
        worker.realm_name = args.realm_name
    if getattr(args, "interface", None):
        cfg.discovery.interfaces = list(args.interface)
    if getattr(args, "seed", None):
        cfg.discovery.seeds = list(args.seed)
    if getattr(args, "no_advertise", False):
        cfg.discovery.advertise = False
    if getattr(args, "name", None):
        worker.name = args.name
    if getattr(args, "backend", None):
        worker.backends = [b.strip() for item in args.backend for b in item.split(",") if b.strip()]
    if getattr(args, "max_concurrency", None) is not None:
        worker.max_concurrency = args.max_concurrency
    if getattr(args, "echo_delay", None) is not None:
        worker.echo_delay_s = args.echo_delay
    return cfg


def setup_logging(level: str) -> None:
    """Log to stderr; leaves an already configured root logger alone."""
    from mtor_common.config import LOG_FORMAT

    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    logging.getLogger("mtor").setLevel(level)


def main(args: argparse.Namespace) -> int:
    """Run the worker until drained; returns the process exit code."""
    import asyncio

    from mtor_common.config import ConfigError

    setup_logging(getattr(args, "log_level", None) or "INFO")
    log = logging.getLogger("mtor.worker")
    try:
        cfg = config_from(args)
    except (ConfigError, OSError) as e:
        print(f"mtor worker: {e}", file=sys.stderr)
        return 2
    settings = cfg.worker
    if settings.max_concurrency < 1:
        print("mtor worker: --max-concurrency must be at least 1", file=sys.stderr)
        return 2
    if not settings.backends:
        print("mtor worker: no backends configured", file=sys.stderr)
        return 2

    from mtor_worker.backends import known_backends, resolve_backends
    from mtor_worker.runtime import run_worker

    unknown = [b for b in settings.backends if b.strip().lower() not in known_backends()]
    if unknown:
        print(f"mtor worker: unknown backend(s) {', '.join(unknown)}; known: {', '.join(known_backends())}",
              file=sys.stderr)
        return 2
    log.info("worker %r starting: realm %s, backends %s, max concurrency %d", settings.name,
             settings.realm or f"{settings.realm_name or 'any'!r} on the local network",
             ",".join(resolve_backends(settings.backends, cfg)), settings.max_concurrency)
    try:
        join_token = getattr(args, "join_token", None) or os.environ.get("MTOR_JOIN_TOKEN", "")
        code = asyncio.run(run_worker(cfg, join_token=join_token.strip()))
    except KeyboardInterrupt:  # before the signal handlers were installed
        code = 130
    log.info("worker %r stopped (exit code %d)", settings.name, code)
    return code
