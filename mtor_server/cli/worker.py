"""`mtor worker`: its arguments and its run live in mtor_worker.cli, next to the worker."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .common import Subparsers


def cmd_worker(args: argparse.Namespace) -> int:
    from mtor_worker.cli import main

    return main(args)


def register(sub: Subparsers) -> None:
    from mtor_worker.cli import add_arguments

    p = sub.add_parser("worker", help="run a worker that serves a realm")
    add_arguments(p)
    p.set_defaults(func=cmd_worker)
