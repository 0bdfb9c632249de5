"""The browser page: static files from gateway_ws/page/ only, with headers that keep its scripts its own."""
from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

PAGE_DIR = Path(__file__).with_name("page")

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",  # no inline script, no eval: markup that slips into the page cannot run
    "style-src 'self'",
    "img-src 'self' data: blob:",  # generated images arrive as bytes and are shown from blob: URLs
    "media-src 'self' blob:",  # spoken answers and the camera
    "connect-src 'self'",  # the bridge: same-origin ws:/wss: are 'self' in CSP level 3
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "microphone=(self), camera=(self), geolocation=()",
    "Cache-Control": "no-cache",  # revalidated by ETag: a gateway upgrade is seen at the next load
}


class Page(StaticFiles):
    """Starlette's StaticFiles, which resolves every path inside PAGE_DIR and answers 404 to one that leaves it
    (`..`, symlinks out, absolute paths), plus the page's security headers."""

    def __init__(self) -> None:
        super().__init__(directory=PAGE_DIR, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # only /ws speaks WebSocket
            await WebSocketClose(code=1008, reason="no WebSocket here: the bridge is at /ws")(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


class PageMount(Mount):
    """The page at "/", for every path but the API's: a wrong method on an API route stays a 405, and an unknown
    API path a 404 in the API's own error shape."""

    API = "/v1"

    def __init__(self) -> None:
        super().__init__("/", app=Page(), name="page")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if path == self.API or path.startswith(self.API + "/"):
            return Match.NONE, {}
        return super().matches(scope)
