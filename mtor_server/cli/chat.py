"""`mtor chat` and `mtor vision`: a text answer streamed to stdout as it is generated."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import add_intent_arguments, connect, read_image, report, run_intent, show_progress

if TYPE_CHECKING:
    from .common import Subparsers


def cmd_chat(args: argparse.Namespace) -> int:
    prompt = " ".join(args.prompt)

    def ask() -> int:
        with connect(args) as client:
            if args.json:
                return report(args, client.chat(prompt, model=args.model, max_tokens=args.max_tokens,
                                                temperature=args.temperature, timeout=args.timeout,
                                                on_event=show_progress))
            stream = client.chat_stream(prompt, model=args.model, max_tokens=args.max_tokens,
                                        temperature=args.temperature, timeout=args.timeout,
                                        on_event=show_progress)
            for chunk in stream:
                print(chunk, end="", flush=True)
            return report(args, stream.result, "")

    return run_intent(ask)


def cmd_vision(args: argparse.Namespace) -> int:
    from mtor_client import Delta

    image = read_image(args.image)
    prompt = " ".join(args.prompt)

    def follow(event: object) -> None:
        show_progress(event)
        if not args.json and isinstance(event, Delta) and event.text:
            print(event.text, end="", flush=True)

    def ask() -> int:
        with connect(args) as client:
            result = client.vision(image, prompt, model=args.model, max_tokens=args.max_tokens,
                                   timeout=args.timeout, on_event=follow)
        return report(args, result, "")  # the text came as it was generated: end its line

    return run_intent(ask)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("chat", help="ask a question and stream the answer")
    p.add_argument("prompt", nargs="+", help="the question")
    p.add_argument("--max-tokens", type=int, default=0, help="most tokens to generate (default: the worker's)")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature 0.0-2.0")
    add_intent_arguments(p, json_help="print the result as one JSON object on stdout, not the text as it comes")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("vision", help="ask about a picture (PNG, JPEG or WebP) and stream the answer")
    p.add_argument("image", metavar="IMAGE", help="the picture's file")
    p.add_argument("prompt", nargs="*", metavar="PROMPT", help="the question (default: the worker's, a "
                   "description)")
    p.add_argument("--max-tokens", type=int, default=0, help="most tokens to generate (default: the worker's)")
    add_intent_arguments(p, json_help="print the result as one JSON object on stdout, not the text as it comes")
    p.set_defaults(func=cmd_vision)
