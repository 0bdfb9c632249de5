"""What the bridge checks before it accepts a WebSocket: where the page comes from, and who the caller is."""
from __future__ import annotations

from typing import Iterable

from starlette.websockets import WebSocket

SUBPROTOCOL = "mtor.v1"
BEARER = "mtor.bearer."
"""A subprotocol "mtor.bearer.<token>" carries the caller's token (browsers cannot set Authorization)."""


def own_origin(ws: WebSocket) -> str | None:
    """The origin of a page this gateway served: same scheme, host and port as the upgrade request."""
    host = ws.headers.get("host")
    if not host:
        return None
    scheme = "https" if ws.url.scheme == "wss" else "http"
    return f"{scheme}://{host}".lower()


def origin_allowed(ws: WebSocket, allowed: Iterable[str]) -> bool:
    """No Origin (a program, not a browser page), the gateway's own, or one of gateway.origins: against
    cross-site WebSocket hijacking, where another site's page would call with the browser's credentials."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    origin = origin.strip().lower()
    return origin == own_origin(ws) or origin in {o.strip().rstrip("/").lower() for o in allowed}


def offered(ws: WebSocket) -> list[str]:
    return [p.strip() for p in ws.scope.get("subprotocols", ())]


def bearer(subprotocols: Iterable[str]) -> str | None:
    """The token offered as a subprotocol, if any."""
    return next((p[len(BEARER):] for p in subprotocols if p.startswith(BEARER) and len(p) > len(BEARER)), None)
