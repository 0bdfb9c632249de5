"""`python -m mtor_worker`: the worker without the `mtor` front end."""
from __future__ import annotations

import argparse
import sys

from mtor_worker.cli import add_arguments, main


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mtor_worker",
                                     description="Run an MTOR worker connected to a realm.")
    add_arguments(parser)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(_parse()))
