"""The `mtor` command. Subcommands import what they need when they run, so that
`mtor --help` stays fast."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Coroutine

if TYPE_CHECKING:
    from mtor_client import TLS

    from .config import Config

DEFAULT_REALM = "127.0.0.1:7070"


def _setup_logging(verbose: bool) -> None:
    from .config import LOG_FORMAT

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)


def _realm_config(args: argparse.Namespace) -> Config:
    from .config import data_dir, load

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


def add_client_arguments(p: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """--realm, --token, --data-dir. `nested`: for the subcommands of a command that has them too (`mtor admin
    workers drain`), so that they may come at either level: left out here, they keep the outer value."""
    def default(value: str | None) -> str | None:
        return argparse.SUPPRESS if nested else value

    p.add_argument("--realm", metavar="HOST:PORT", default=default(os.environ.get("MTOR_REALM", DEFAULT_REALM)),
                   help=f"realm to call; grpcs://HOST:PORT for TLS (default $MTOR_REALM or {DEFAULT_REALM})")
    p.add_argument("--token", default=default(os.environ.get("MTOR_TOKEN")),
                   help="bearer token (default $MTOR_TOKEN)")
    p.add_argument("--data-dir", metavar="DIR", default=default(None), help="where mtor.toml with the [tls] "
                   "client settings is, if anywhere (default $MTOR_DATA_DIR or ~/.mtor); MTOR_TLS_* variables "
                   "override it")


def client_tls(args: argparse.Namespace) -> TLS | None:
    """The [tls] client settings (config file if present, MTOR_TLS_* variables); None: no TLS material."""
    from .config import data_dir, load_section
    from .tls import client_tls as from_section

    return from_section(load_section(data_dir(args.data_dir), "tls"))


def _serve(start: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a realm until it stops. A data dir or database that cannot be written (a full disk, a read-only
    volume) is one clear line and exit status 1, so that a service manager sees the failure and can restart it."""
    import asyncio

    from .store import StoreError

    try:
        return asyncio.run(start())
    except (StoreError, OSError) as e:
        print(f"mtor: the realm cannot run: {e}", file=sys.stderr)
        return 1


def cmd_realm(args: argparse.Namespace) -> int:
    from .config import data_dir
    from .server import run_realm

    return _serve(lambda: run_realm(_realm_config(args), data_dir(args.data_dir)))


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway_ws.server import main

    from .config import data_dir, load

    cfg = load(data_dir(args.data_dir))
    if args.listen:
        cfg.gateway.listen = args.listen
    realm = args.realm or cfg.gateway.realm or cfg.realm.listen
    return main(cfg.gateway, realm, client_tls(args))


def cmd_worker(args: argparse.Namespace) -> int:
    from mtor_worker.cli import main

    return main(args)


def cmd_discover(args: argparse.Namespace) -> int:
    from .discovery.cli import main

    return main(args)


def cmd_admin(args: argparse.Namespace) -> int:
    from .cli_admin import main

    return main(args)


def cmd_up(args: argparse.Namespace) -> int:
    from .config import data_dir
    from .up import run_up

    return _serve(lambda: run_up(_realm_config(args), data_dir(args.data_dir), args.backend, not args.no_gateway))


def cmd_tls(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import data_dir
    from .tls_files import create, report

    directory = Path(args.dir) if args.dir else data_dir(args.data_dir) / "tls"
    print(report(create(args.name, directory, ips=args.ip, dns=args.dns, days=args.days, force=args.force)), end="")
    return 0


def _show_progress(event: object) -> None:
    """Waiting and retries on stderr, so that the answer alone goes to stdout."""
    from mtor_client import Accepted, Queued, Retrying

    if isinstance(event, Accepted) and event.queue_position:
        print(f"[queued at position {event.queue_position}]", file=sys.stderr, flush=True)
    elif isinstance(event, Queued):
        print(f"[queued at position {event.queue_position} of {event.queue_depth}]", file=sys.stderr, flush=True)
    elif isinstance(event, Retrying):
        print(f"[retrying, attempt {event.attempt}: {event.reason}]", file=sys.stderr, flush=True)


def cmd_chat(args: argparse.Namespace) -> int:
    from mtor_client import Client, MtorError

    prompt = " ".join(args.prompt)
    try:
        with Client(args.realm, token=args.token, tls=client_tls(args)) as client:
            stream = client.chat_stream(prompt, model=args.model, max_tokens=args.max_tokens,
                                        temperature=args.temperature, timeout=args.timeout,
                                        on_event=_show_progress)
            for chunk in stream:
                print(chunk, end="", flush=True)
            print()
            result = stream.result
            print(f"[{result.worker}@{result.realm}, {result.usage.processing_s:.2f} s, "
                  f"queued {result.usage.queue_wait_s:.2f} s, cost {result.usage.cost:.4f}]", file=sys.stderr)
    except MtorError as e:
        print(f"mtor: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from mtor_client import Client, MtorError

    try:
        with Client(args.realm, token=args.token, tls=client_tls(args)) as client:
            info = client.describe(timeout=args.timeout)
    except MtorError as e:
        print(f"mtor: realm {args.realm} is not answering: {e}", file=sys.stderr)
        return 1
    print(f"realm {info.name!r} at {args.realm}: version {info.version}, up {info.uptime_s:.0f} s, "
          f"{info.running} running")
    if not info.kinds:
        print("no workers connected")
        return 0
    print(f"{'kind':<11} {'workers':>7} {'free':>5} {'queued':>6}  models")
    for k in info.kinds:
        print(f"{k.kind:<11} {k.workers:>7} {k.free_slots:>5} {k.queue_depth:>6}  {', '.join(k.models) or 'any'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mtor", description="MTOR: pool AI hardware into realms that serve "
                                     "intents (chat, transcribe, speak, imagine, vision, embed).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("realm", help="run a realm (the orchestrator)")
    _add_realm_arguments(p)
    p.set_defaults(func=cmd_realm)

    p = sub.add_parser("worker", help="run a worker that serves a realm")
    from mtor_worker.cli import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("up", help="run a realm and a local worker: the quickest start")
    _add_realm_arguments(p)
    p.add_argument("--backend", action="append", metavar="NAME[,NAME]",
                   help="backends of the local worker (default: config worker.backends)")
    p.add_argument("--no-gateway", action="store_true", help="no gateway (browser page, OpenAI-compatible API)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("gateway", help="run the gateway: the browser page, the WebSocket bridge and the "
                       "OpenAI-compatible API, in front of a realm")
    p.add_argument("--realm", metavar="HOST:PORT", help="realm to call; grpcs://HOST:PORT for TLS (config "
                   "gateway.realm; default this data dir's realm.listen)")
    p.add_argument("--listen", metavar="HOST:PORT", help="address to serve HTTP on (config gateway.listen, default "
                   "127.0.0.1:7080; port 0 picks a free one)")
    p.add_argument("--data-dir", metavar="DIR", help="config (default $MTOR_DATA_DIR or ~/.mtor)")
    p.set_defaults(func=cmd_gateway)

    p = sub.add_parser("chat", help="ask a question and stream the answer")
    p.add_argument("prompt", nargs="+", help="the question")
    p.add_argument("--model", default="", help="model to use (default: any)")
    p.add_argument("--max-tokens", type=int, default=0, help="most tokens to generate (default: the worker's)")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature 0.0-2.0")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    add_client_arguments(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("status", help="show a realm's workers and queues")
    p.add_argument("--timeout", type=float, default=5.0, help="give up after this many seconds")
    add_client_arguments(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("discover", help="list the realms and workers on the local network (and at --seed "
                       "addresses); --diagnose explains an empty result")
    from .discovery.cli import add_arguments as add_discover_arguments

    add_discover_arguments(p)
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("admin", help="run a realm as its sysop: workers, pools, queue, users, tokens, usage, audit, "
                       "peer realms")
    from .cli_admin import add_arguments as add_admin_arguments

    add_admin_arguments(p)
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser("tls", help="make a realm's CA and certificates for TLS and mutual TLS (with openssl)")
    tls_sub = p.add_subparsers(dest="tls_command", required=True, metavar="ACTION")
    p = tls_sub.add_parser("create", help="make NAME.pem and NAME.key signed by DIR's CA (making ca.pem and "
                           "ca.key first, named after NAME, if DIR has none); prints the [tls] settings to use")
    p.add_argument("name", metavar="NAME", help="the realm's (or a worker's, a client's) name: file names and CN")
    p.add_argument("--dir", metavar="DIR", help="where the files go (default: DATA_DIR/tls, made mode 0700)")
    p.add_argument("--data-dir", metavar="DIR", help="default $MTOR_DATA_DIR or ~/.mtor")
    p.add_argument("--ip", action="append", metavar="IP", help="an IP address the certificate names; repeatable "
                   "(default, with no --ip or --dns: 127.0.0.1, localhost and this host's name; `mtor up` needs "
                   "127.0.0.1)")
    p.add_argument("--dns", action="append", metavar="NAME", help="a DNS name the certificate names; repeatable")
    p.add_argument("--days", type=int, default=825, help="the certificate's validity (default 825; the CA's: 3650)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.pem and NAME.key")
    p.set_defaults(func=cmd_tls)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except ValueError as e:  # configuration mistakes, named by the code that found them
        print(f"mtor: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
