"""The scrape endpoint: GET /metrics over plain HTTP/1.x, served by asyncio on the realm's own loop.

Serving on the realm's loop (not a thread) means the text is rendered from the realm's live state
between two of its steps, so a scrape never sees half a change and needs no locks. Rendering is a
few dozen lines of text, so it never holds the loop up. One request per connection, then it closes:
all a Prometheus scraper needs, and nothing to keep track of.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Callable

from .registry import CONTENT_TYPE

log = logging.getLogger("mtor.metrics")

PATH = "/metrics"
READ_TIMEOUT_S = 10.0  # a client that does not finish its request in time is dropped
LINE_LIMIT = 8192  # longest request line or header line
MAX_HEADERS = 100
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error"}
_TEXT = "text/plain; charset=utf-8"


class _BadRequest(Exception):
    pass


class MetricsServer:
    """A listening metrics endpoint; `address` is (host, port), the real port when 0 was asked."""

    def __init__(self, render: Callable[[], str]) -> None:
        self._render = render
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.address: tuple[str, int] = ("", 0)
        self.scheme = "http"

    @classmethod
    async def start(cls, host: str, port: int, render: Callable[[], str],
                    tls: ssl.SSLContext | None = None) -> "MetricsServer":
        """Listen on host:port (port 0: a free one), with HTTPS when `tls` is given; `render` gives
        the exposition text at each scrape."""
        metrics = cls(render)
        metrics.scheme = "https" if tls is not None else "http"
        metrics._server = await asyncio.start_server(metrics._handle, host, port, limit=LINE_LIMIT, ssl=tls)
        sockname = metrics._server.sockets[0].getsockname()
        metrics.address = (sockname[0], sockname[1])
        return metrics

    @property
    def url(self) -> str:
        host, port = self.address
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{port}{PATH}"

    async def stop(self) -> None:
        """Stop listening and drop connections still open (a scrape in progress is cut short)."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            try:
                method, path = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            except _BadRequest as e:
                await _respond(writer, 400, f"bad request: {e}\n")
                return
            except asyncio.TimeoutError:
                return
            status, body, content_type, extra = self._answer(method, path)
            await _respond(writer, status, body, content_type, head_only=method == "HEAD", extra=extra)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to tell it
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _answer(self, method: str, path: str) -> tuple[int, str, str, tuple[str, ...]]:
        if path.split("?", 1)[0] != PATH:
            return 404, f"not found: the metrics are at {PATH}\n", _TEXT, ()
        if method not in ("GET", "HEAD"):
            return 405, "only GET and HEAD\n", _TEXT, ("Allow: GET, HEAD",)
        try:
            return 200, self._render(), CONTENT_TYPE, ()
        except Exception:
            log.exception("rendering the metrics failed")
            return 500, "rendering the metrics failed; see the realm's log\n", _TEXT, ()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """(method, path) of an HTTP/1.x request; its headers are read and ignored, a body is not expected."""
    line = await _read_line(reader)
    parts = line.split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1].startswith("/") \
            or not parts[2].startswith("HTTP/1."):
        raise _BadRequest("expected a request line such as GET /metrics HTTP/1.1")
    for _ in range(MAX_HEADERS):
        if not await _read_line(reader):
            return parts[0], parts[1]
    raise _BadRequest("too many header lines")


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise _BadRequest(f"a line is longer than {LINE_LIMIT} bytes") from None
    except asyncio.IncompleteReadError as e:
        raise _BadRequest("the request ended early") if e.partial else e from None
    try:
        return raw.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError:
        raise _BadRequest("the request is not ASCII") from None


async def _respond(writer: asyncio.StreamWriter, status: int, body: str, content_type: str = _TEXT, *,
                   head_only: bool = False, extra: tuple[str, ...] = ()) -> None:
    data = body.encode("utf-8")
    head = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Type: {content_type}",
            f"Content-Length: {len(data)}", "Connection: close", *extra, "", ""]
    writer.write("\r\n".join(head).encode("ascii") + (b"" if head_only else data))
    await writer.drain()
