"""Generate the blocking client (_sync.py) from the asyncio one (_async.py).

The two clients are the same code but for the async keywords and a few
helpers that come in pairs (AsyncConnection/Connection, AsyncChatStream/
ChatStream, async_notify/notify, asyncio.sleep/time.sleep). So _async.py is
the only one written by hand and this script rewrites it by substitutions,
as httpcore's unasync does. Run with `--check` in CI to fail when the
committed _sync.py is stale.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "clients" / "python" / "mtor_client"
SOURCE = PACKAGE / "_async.py"
TARGET = PACKAGE / "_sync.py"

HEADER = "# generated from _async.py by tools/unasync.py; do not edit (run `make unasync`)\n"

DOCSTRING = '''"""The blocking client, on sync gRPC.

Generated from the asyncio client (_async.py), which is the one to edit; see
there for how the two share their code. Streaming methods (submit, watch,
notices, chat_stream) return iterators; everything else blocks until done.
"""'''

# Text only the asyncio client's docstrings say; each must be found, so that
# rewording the source cannot silently leave async wording in the sync client.
PHRASES: list[tuple[str, str]] = [
    (
        "A connection to one realm, for asyncio. Close it (or use `async with`) when done.",
        "A connection to one realm. Thread-safe; close it (or use `with`) when done.",
    ),
    (
        " The channel opens\n    on first use, in the running event loop; use the client from that loop only.",
        "",
    ),
    ("Like chat, but `async for` over the returned stream", "Like chat, but iterate the returned stream"),
]

# Whole-word rewrites, in order (the specific ones before the plain names).
RULES: list[tuple[str, str]] = [
    (r"-> AsyncGenerator\[Notice, None\]", "-> Iterator[Notice]"),  # what Client.notices always promised
    (r"\bAsyncOnEvent as OnEvent\b", "OnEvent"),
    (r"\bAsyncGenerator\[(.+?), None\]", r"Generator[\1, None, None]"),
    (r"\basync (def|for|with)\b", r"\1"),
    (r"\bawait ", ""),
    (r"\bimport asyncio\b", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bgrpc\.aio\b", "grpc"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\baclose\b", "close"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncConnection\b", "Connection"),
    (r"\bAsyncChatStream\b", "ChatStream"),
    (r"\bAsyncOnEvent\b", "OnEvent"),
    (r"\basync_notify\b", "notify"),
]

_FROM_IMPORT = re.compile(r"^from (\S+) import ([^()\n]+)$", re.M)
# ruff keeps `import A as B` on a line of its own; once unaliased it joins its neighbour.
_SAME_MODULE = re.compile(r"^from (\S+) import ([^()\n]+)\nfrom \1 import ([^()\n]+)$", re.M)
_DOCSTRING = re.compile(r'\A"""(.*?)"""', re.S)


def _import_order(name: str) -> tuple[int, str]:
    """ruff's (isort's) order of imported names: CONSTANTS, Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name


def _sort_names(match: re.Match[str]) -> str:
    names = sorted((n.strip() for n in match.group(2).split(",")), key=_import_order)
    return f"from {match.group(1)} import {', '.join(names)}"


def unasync(source: str) -> str:
    """The sync client's text for the async client's text."""
    text, found = _DOCSTRING.subn(DOCSTRING, source, count=1)
    if not found:
        raise ValueError("the source does not start with a module docstring")
    for old, new in PHRASES:
        if old not in text:
            raise ValueError(f"the source no longer says {old!r}: update PHRASES in tools/unasync.py")
        text = text.replace(old, new)
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    text = _SAME_MODULE.sub(r"from \1 import \2, \3", text)
    return HEADER + _FROM_IMPORT.sub(_sort_names, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the target is stale instead of writing it")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the async client (default: %(default)s)")
    parser.add_argument("--target", type=Path, default=TARGET, help="the sync client (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        generated = unasync(args.source.read_text())
    except ValueError as e:
        print(f"unasync: {args.source}: {e}", file=sys.stderr)
        return 2
    if args.check:
        if not args.target.exists() or args.target.read_text() != generated:
            print(f"{args.target} is stale: run `make unasync` and commit the result", file=sys.stderr)
            return 1
        print(f"{args.target.name} is fresh")
        return 0
    args.target.write_text(generated)
    print(f"wrote {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
