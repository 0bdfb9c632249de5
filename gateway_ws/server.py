"""`mtor gateway`: the app under uvicorn, on a socket bound first so that port 0 reports the real port."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import Iterator

import uvicorn
from mtor_client import TLS

from mtor_common.address import join_address, split_address
from mtor_common.config import ConfigError, GatewaySection

from .app import create_app

log = logging.getLogger("mtor.gateway")


def bind(listen: str) -> socket.socket:
    host, port = split_address(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on connections of a socket that says it is
    # TCP; with it on, a response written in two pieces waits for the client's delayed ACK (40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"gateway.listen {listen}: cannot listen ({e.strerror or e}); set another HOST:PORT, "
                          "or port 0 for a free one") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{join_address(host, port)}"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Stop on SIGTERM or SIGINT and exit 0, as the realm does (uvicorn's own raises the signal again once
        it has stopped, so that the process dies of it)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._exit)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _exit(self) -> None:
        self.force_exit = self.should_exit  # a second signal: stop waiting for open connections
        self.should_exit = True


async def run_gateway(cfg: GatewaySection, realm: str, tls: TLS | None = None) -> int:
    """Serve until SIGTERM or SIGINT (uvicorn's own handlers)."""
    sock = bind(cfg.listen)
    app = create_app(cfg, realm, tls)
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                           ws_max_size=cfg.max_frame_bytes, timeout_graceful_shutdown=5))
    url = url_of(sock)
    print(f"mtor gateway on {url} (the page: open it in a browser; OpenAI-compatible API at {url}/v1; realm {realm})",
          flush=True)
    await server.serve(sockets=[sock])
    return 0


def main(cfg: GatewaySection, realm: str, tls: TLS | None = None) -> int:
    return asyncio.run(run_gateway(cfg, realm, tls))
