"""The `mtor` command: the parser assembled from one module per command group, each with its `register(sub)`.
The groups import what they need when they run, so that `mtor --help` stays fast; they share only common.py."""
from __future__ import annotations

import argparse
import logging
import sys

from . import admin, audio, certs, chat, discover, embed, gateway, imagine, serve, status, worker

GROUPS = (serve, worker, gateway, chat, audio, imagine, embed, status, discover, admin, certs)
"""In the order `mtor --help` lists their commands."""


def _setup_logging(verbose: bool) -> None:
    from mtor_common.config import LOG_FORMAT

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mtor", description="MTOR: pool AI hardware into realms that serve "
                                     "intents (chat, transcribe, speak, imagine, vision, embed, converse).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except ValueError as e:  # configuration mistakes and bad input (common.UsageError), named by what found them
        print(f"mtor: {e}", file=sys.stderr)
        return 2
