"""`mtor discover`: realms and workers announced on the local network, with their TXT data, and the realms
that answer at seed addresses; `--diagnose` explains what is (not) found (discovery/diagnose.py)."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING

from mtor_common.discovery import REALM_TYPE, TYPES, WORKER_TYPE, Browser, Found, browse

from .common import client_tls

if TYPE_CHECKING:
    from mtor_client import TLS

    from .common import Subparsers

EPILOG = """exit status:
  0  listed (plain, even when nothing was found); with --diagnose: a realm that speaks this
     mtor's protocol was found, by multicast or at a seed
  1  with --diagnose: no such realm (the causes found are listed); plain: the local network
     could not be browsed at all and no seed answered
  2  a configuration mistake, or --seed/--diagnose with --watch"""


def register(sub: Subparsers) -> None:
    p = sub.add_parser("discover", help="list the realms and workers on the local network (and at --seed "
                       "addresses); --diagnose explains an empty result")
    p.add_argument("--seconds", type=float, default=None, metavar="S",
                   help="how long to listen (default: config discovery.browse_s, 2)")
    p.add_argument("--interface", action="append", metavar="ADDRESS|NAME",
                   help="listen on this interface only; repeatable (default: config discovery.interfaces, "
                        "empty: all)")
    p.add_argument("--json", action="store_true", help="one JSON document (with --watch: one JSON line per change)")
    p.add_argument("--watch", action="store_true", help="keep listening and report each arrival and departure "
                   "until interrupted")
    p.add_argument("--seed", action="append", metavar="HOST:PORT",
                   help="also ask the realm at this address directly (grpcs://HOST:PORT for TLS; the [tls] client "
                        "settings apply), for networks that drop multicast; repeatable (default: config "
                        "discovery.seeds)")
    p.add_argument("--diagnose", action="store_true",
                   help="explain what is found and what is not: interfaces and addresses used, whether multicast "
                        "sockets open, what was heard, protocol mismatches, the seeds, and what to try")
    p.add_argument("--data-dir", metavar="DIR", help="where mtor.toml with the [discovery] and [tls] settings is, if "
                   "anywhere (default $MTOR_DATA_DIR or ~/.mtor)")
    p.description = ("List the MTOR realms and workers announced on the local network (DNS-SD over\n"
                     "multicast DNS), and the realms that answer at seed addresses.")
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.set_defaults(func=cmd_discover)


def _show(found: list[Found]) -> None:
    for role, title in (("realm", "realms"), ("worker", "workers")):
        mine = [f for f in found if f.role == role]
        print(f"{title}: {len(mine) or 'none'}")
        for f in mine:
            extra = " ".join(f"{k}={v}" for k, v in f.txt.items() if k != "name")
            print(f"  {f.name!r} at {f.address or '?'}  {extra}" + ("  (via seed)" if f.via == "seed" else ""))


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


def _tls(args: argparse.Namespace, seeds: list[str]) -> TLS | None:
    """The [tls] client settings, read only when there is a seed to ask."""
    return client_tls(args) if seeds else None


async def _discover(seconds: float, interfaces: list[str], seeds: list[str],
                    tls: TLS | None) -> tuple[list[Found], list[str], str]:
    """(found: multicast first, then the seeds; why seeds failed; why browsing failed, if it did)."""
    from mtor_common.discovery.seeds import merge, probe_seeds

    async def heard() -> tuple[list[Found], str]:
        try:
            return await browse(seconds, interfaces), ""
        except (OSError, RuntimeError) as e:  # RuntimeError: zeroconf found no interface at all
            await asyncio.sleep(seconds)  # give the seeds their time
            return [], str(e)

    (multicast, trouble), (asked, failed) = await asyncio.gather(heard(), probe_seeds(seeds, tls, max(seconds, 1.0)))
    return merge(multicast, asked), list(failed.values()), trouble


def cmd_discover(args: argparse.Namespace) -> int:
    from mtor_common.config import data_dir, load_section

    section = load_section(data_dir(args.data_dir), "discovery")
    interfaces = args.interface or section.interfaces
    seeds = args.seed or section.seeds
    seconds = section.browse_s if args.seconds is None else args.seconds
    if args.watch:
        if args.diagnose or args.seed:
            print("mtor discover: --watch follows announcements only; it does not go with --diagnose or --seed",
                  file=sys.stderr)
            return 2
        try:
            asyncio.run(_watch(args.seconds, interfaces, args.json))
        except KeyboardInterrupt:
            pass
        return 0
    tls = _tls(args, seeds)
    if args.diagnose:
        from mtor_common.discovery.diagnose import diagnose, render

        report = asyncio.run(diagnose(seconds, interfaces, seeds, tls))
        if args.json:
            json.dump(report.as_dict(), sys.stdout, indent=2)
            print()
        else:
            print(render(report))
        return 0 if report.usable_realms else 1
    found, failed, trouble = asyncio.run(_discover(seconds, interfaces, seeds, tls))
    if trouble:
        print(f"mtor discover: cannot browse the local network ({trouble}); `mtor discover --diagnose` says why",
              file=sys.stderr)
    for why in failed:
        print(f"mtor discover: {why}", file=sys.stderr)
    if args.json:
        json.dump({"realms": [f.as_dict() for f in found if f.role == "realm"],
                   "workers": [f.as_dict() for f in found if f.role == "worker"]}, sys.stdout, indent=2)
        print()
    else:
        _show(found)
    return 1 if trouble and not found else 0
