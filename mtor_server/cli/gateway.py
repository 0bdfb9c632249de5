"""`mtor gateway`: the browser page, the WebSocket bridge and the OpenAI-compatible API in front of a realm."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import client_tls

if TYPE_CHECKING:
    from .common import Subparsers


def cmd_gateway(args: argparse.Namespace) -> int:
    import mtor_worker.backends  # noqa: F401  (declares the backends' sections: mtor.toml holds every setting)
    from gateway_ws.server import main
    from mtor_common.config import data_dir, load

    cfg = load(data_dir(args.data_dir))
    if args.listen:
        cfg.gateway.listen = args.listen
    realm = args.realm or cfg.gateway.realm or cfg.realm.listen
    return main(cfg.gateway, realm, client_tls(args))


def register(sub: Subparsers) -> None:
    p = sub.add_parser("gateway", help="run the gateway: the browser page, the WebSocket bridge and the "
                       "OpenAI-compatible API, in front of a realm")
    p.add_argument("--realm", metavar="HOST:PORT", help="realm to call; grpcs://HOST:PORT for TLS (config "
                   "gateway.realm; default this data dir's realm.listen)")
    p.add_argument("--listen", metavar="HOST:PORT", help="address to serve HTTP on (config gateway.listen, default "
                   "127.0.0.1:7080; port 0 picks a free one)")
    p.add_argument("--data-dir", metavar="DIR", help="config (default $MTOR_DATA_DIR or ~/.mtor)")
    p.set_defaults(func=cmd_gateway)
