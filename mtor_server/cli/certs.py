"""`mtor tls create`: a realm's CA and certificates for TLS and mutual TLS (tls_files.py does the work)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .common import Subparsers


def cmd_tls(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mtor_common.config import data_dir

    from ..tls_files import create, report

    directory = Path(args.dir) if args.dir else data_dir(args.data_dir) / "tls"
    print(report(create(args.name, directory, ips=args.ip, dns=args.dns, days=args.days, force=args.force)), end="")
    return 0


def register(sub: Subparsers) -> None:
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
