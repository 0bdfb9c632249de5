"""What every client command shares: --realm/--token/--data-dir, the client built from them, the progress and
summary lines on stderr, tables, --json output, reading inputs and writing outputs, and how a failure becomes an
exit status. The one module the command groups import from each other; it imports the client only when a
command runs, so that `mtor --help` stays fast.

Exit statuses: 0 done; 1 the realm was not reached or the intent failed (`mtor: CODE: message`); 2 a usage
error (argparse's own, and UsageError: a missing, empty or unreadable input, an output that cannot be written;
`mtor: message`), found before anything is sent, but for an output that a check passed and a write then failed
(a full disk)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    from mtor_client import TLS, Client

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # what each group's register() fills

DEFAULT_REALM = "127.0.0.1:7070"
IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"))


class UsageError(ValueError):
    """Bad input found before any call: main prints `mtor: message` and exits 2 (as for any ValueError)."""


# ------------------------------------------------------------- the client --


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


def add_intent_arguments(p: argparse.ArgumentParser, *, json_help: str = "print one JSON object on stdout",
                         model_help: str = "model to use (default: any)") -> None:
    """What every intent command takes besides its own: --model, --timeout, --json and the client's."""
    p.add_argument("--model", default="", help=model_help)
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    p.add_argument("--json", action="store_true", help=json_help)
    add_client_arguments(p)


def client_tls(args: argparse.Namespace) -> TLS | None:
    """The [tls] client settings (config file if present, MTOR_TLS_* variables); None: no TLS material."""
    from mtor_common.config import data_dir, load_section
    from mtor_common.tls import client_tls as from_section

    return from_section(load_section(data_dir(args.data_dir), "tls"))


def connect(args: argparse.Namespace) -> Client:
    """The client for --realm, --token and the [tls] settings."""
    from mtor_client import Client

    return Client(args.realm, token=args.token, tls=client_tls(args))


def run_intent(command: Callable[[], int], prefix: str = "mtor") -> int:
    """Run a command that calls the realm; a failed call or intent prints `PREFIX: CODE: message` and is exit 1."""
    from mtor_client import MtorError

    try:
        return command()
    except MtorError as e:
        print(f"{prefix}: {e}", file=sys.stderr)
        return 1


def show_progress(event: object) -> None:
    """Waiting and retries on stderr, so that the answer alone goes to stdout."""
    from mtor_client import Accepted, Queued, Retrying

    if isinstance(event, Accepted) and event.queue_position:
        print(f"[queued at position {event.queue_position}]", file=sys.stderr, flush=True)
    elif isinstance(event, Queued):
        print(f"[queued at position {event.queue_position} of {event.queue_depth}]", file=sys.stderr, flush=True)
    elif isinstance(event, Retrying):
        print(f"[retrying, attempt {event.attempt}: {event.reason}]", file=sys.stderr, flush=True)


def print_summary(result: Any) -> None:
    """Who served it, how long it took and what it cost, on stderr."""
    print(f"[{result.worker}@{result.realm}, {result.usage.processing_s:.2f} s, "
          f"queued {result.usage.queue_wait_s:.2f} s, cost {result.usage.cost:.4f}]", file=sys.stderr)


def report(args: argparse.Namespace, result: Any, text: str | None = None, note: str = "", **extra: object) -> int:
    """How an intent command ends: with --json the result as one JSON object (with `extra`); otherwise `text`, if
    any, on stdout, then `note` and the summary on stderr. Exit status 0."""
    if args.json:
        print_json(result_json(result, **extra), indent=None)
        return 0
    if text is not None:
        print(text)
    if note:
        print(note, file=sys.stderr)
    print_summary(result)
    return 0


# ---------------------------------------------------------- inputs, outputs --


def read_input(name: str, what: str = "file") -> bytes:
    """A file's bytes; a missing, unreadable or empty one is a UsageError naming it."""
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read the {what} {name}: {e.strerror or e}") from None
    if not data:
        raise UsageError(f"the {what} {name} is empty")
    return data


def read_image(name: str) -> bytes:
    """An image file's bytes, if they are a PNG, JPEG or WebP picture (what vision workers take)."""
    data = read_input(name, "image")
    if not (any(data.startswith(signature) for signature, _ in IMAGE_SIGNATURES)
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")):
        raise UsageError(f"the image {name} is not a PNG, JPEG or WebP picture")
    return data


def check_output(name: str) -> Path:
    """The output path, checked before the intent is sent so that no work is lost to a path that cannot be
    written: its folder must exist and be writable, and it must not be a folder itself."""
    path = Path(name)
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"cannot write {name}: it is a folder")
    if not folder.is_dir():
        raise UsageError(f"cannot write {name}: no folder {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {name}: permission denied")
    return path


def write_output(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


# ----------------------------------------------------------------- output --


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain-text columns, left-aligned to their widest cell: readable with many rows, greppable, no dependency."""
    cells = [list(headers)] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)


def _json_value(value: object) -> object:
    """What json.dumps cannot write itself: times as ISO 8601, anything else (errors, bytes) as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def print_json(value: object, indent: int | None = 2) -> None:
    """A dataclass, a list of them or plain data as JSON on stdout."""
    if isinstance(value, (list, tuple)):
        value = [asdict(v) if is_dataclass(v) else v for v in value]
    elif is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    print(json.dumps(value, indent=indent, default=_json_value))


def result_json(result: Any, **extra: object) -> dict[str, object]:
    """A result as plain data without its bytes (a WAV, a PNG: those go to files), plus `extra`."""
    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not isinstance(v, bytes)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {**strip(asdict(result)), **extra}  # type: ignore[dict-item]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def duration(seconds: float) -> str:
    """Short and exact enough to read at a glance: 0.4s, 12s, 3m12s, 2h05m, 3d04h."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f}s"
    s = int(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if s >= size:
            return f"{s // size}{unit}{(s % size) // sub_size:02d}{sub}"
    return f"{s}s"


def when(at: datetime | None, none: str = "-") -> str:
    """Local time, to the second; `none` when there is no time."""
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else none


def age(at: datetime | None) -> str:
    return duration((datetime.now(timezone.utc) - at).total_seconds()) if at else "-"


def cost(value: float) -> str:
    return f"{value:.4f}"


def progress_bar(fraction: float, width: int = 30) -> str:
    """[#########.....]  45%"""
    done = round(max(0.0, min(fraction, 1.0)) * width)
    return f"[{'#' * done}{'.' * (width - done)}] {fraction * 100:3.0f}%"


class ProgressBar:
    """Progress deltas drawn on stderr: redrawn in place on a terminal, a line per change otherwise (a log)."""

    def __init__(self) -> None:
        self.shown = False
        self.last = ""
        self.tty = sys.stderr.isatty()

    def update(self, fraction: float) -> None:
        bar = progress_bar(fraction)
        if bar == self.last:
            return
        self.last, self.shown = bar, True
        print(f"\r{bar}" if self.tty else bar, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.shown and self.tty:
            print(file=sys.stderr, flush=True)

