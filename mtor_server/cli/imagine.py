"""`mtor imagine`: text to image, into a PNG file, with a progress bar on stderr."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import (
    ProgressBar,
    UsageError,
    add_intent_arguments,
    check_output,
    connect,
    report,
    run_intent,
    show_progress,
    write_output,
)

if TYPE_CHECKING:
    from .common import Subparsers


def _size(value: str) -> tuple[int, int]:
    """"768x512" -> (768, 512)."""
    width, _, height = value.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use WIDTHxHEIGHT, e.g. 512x512") from None
    if min(size) <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: both sides must be above 0")
    return size


def cmd_imagine(args: argparse.Namespace) -> int:
    from mtor_client import Delta

    output = check_output(args.output)
    if args.steps is not None and args.steps <= 0:
        raise UsageError("--steps must be above 0")
    width, height = args.size or (0, 0)
    bar = ProgressBar()

    def follow(event: object) -> None:
        show_progress(event)
        if isinstance(event, Delta) and event.fraction is not None:
            bar.update(event.fraction)

    def ask() -> int:
        try:
            with connect(args) as client:
                result = client.imagine(" ".join(args.prompt), negative_prompt=args.negative, width=width,
                                        height=height, steps=args.steps or 0, seed=args.seed, model=args.model,
                                        timeout=args.timeout, on_event=follow)
        finally:
            bar.end()
        write_output(output, result.png)
        return report(args, result, note=f"wrote {output}: {result.width}x{result.height}, seed {result.seed}",
                      output=str(output), bytes=len(result.png))

    return run_intent(ask)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("imagine", help="text to image, into a PNG file")
    p.add_argument("prompt", nargs="+", metavar="PROMPT", help="what to picture")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png", help="where the PNG goes")
    p.add_argument("--size", type=_size, default=None, metavar="WxH", help="width x height in pixels "
                   "(default: the model's)")
    p.add_argument("--steps", type=int, default=None, metavar="N", help="denoising steps (default: the model's)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="for the same picture again "
                   "(default: random; the one used is printed)")
    p.add_argument("--negative", default="", metavar="TEXT", help="what not to picture")
    add_intent_arguments(p)
    p.set_defaults(func=cmd_imagine)
