"""`mtor discover`: realms and workers announced on the local network, with their TXT data."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from . import REALM_TYPE, TYPES, WORKER_TYPE, Browser, Found, browse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=None, metavar="S",
                   help="how long to listen (default: config discovery.browse_s, 2)")
    p.add_argument("--interface", action="append", metavar="ADDRESS|NAME",
                   help="listen on this interface only; repeatable (default: config discovery.interfaces, "
                        "empty: all)")
    p.add_argument("--json", action="store_true", help="one JSON document (with --watch: one JSON line per change)")
    p.add_argument("--watch", action="store_true", help="keep listening and report each arrival and departure "
                   "until interrupted")
    p.add_argument("--data-dir", metavar="DIR", help="where mtor.toml with the [discovery] settings is, if anywhere "
                   "(default $MTOR_DATA_DIR or ~/.mtor)")


def _show(found: list[Found]) -> None:
    for role, title in (("realm", "realms"), ("worker", "workers")):
        mine = [f for f in found if f.role == role]
        print(f"{title}: {len(mine) or 'none'}")
        for f in mine:
            extra = " ".join(f"{k}={v}" for k, v in f.txt.items() if k != "name")
            print(f"  {f.name!r} at {f.address or '?'}  {extra}")


async def _watch(seconds: float | None, interfaces: list[str], as_json: bool) -> None:
    queue: asyncio.Queue[tuple[str, str, bool]] = asyncio.Queue()
    async with Browser(interfaces, (REALM_TYPE, WORKER_TYPE),
                       lambda t, n, added: queue.put_nowait((t, n, added))) as browser:
        deadline = None if seconds is None else time.monotonic() + seconds
        while deadline is None or time.monotonic() < deadline:
            try:
                service_type, instance, added = await asyncio.wait_for(
                    queue.get(), None if deadline is None else max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return
            found = await browser.resolve(service_type, instance) if added else None
            event = {"event": "added" if added else "removed", "role": TYPES[service_type],
                     "instance": instance, "at": time.time()}
            if found is not None:
                event.update(found.as_dict())
            if as_json:
                print(json.dumps(event), flush=True)
            else:
                where = f" at {found.address} {found.txt}" if found is not None else ""
                print(f"{event['event']} {event['role']} {instance!r}{where}", flush=True)


def main(args: argparse.Namespace) -> int:
    from ..config import data_dir, load_section

    section = load_section(data_dir(args.data_dir), "discovery")
    interfaces = args.interface or section.interfaces
    if args.watch:
        try:
            asyncio.run(_watch(args.seconds, interfaces, args.json))
        except KeyboardInterrupt:
            pass
        return 0
    seconds = section.browse_s if args.seconds is None else args.seconds
    found = asyncio.run(browse(seconds, interfaces))
    if args.json:
        json.dump({"realms": [f.as_dict() for f in found if f.role == "realm"],
                   "workers": [f.as_dict() for f in found if f.role == "worker"]}, sys.stdout, indent=2)
        print()
    else:
        _show(found)
    return 0
