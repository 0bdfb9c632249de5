"""The WebSocket bridge (/ws): the allow-listed mtor.v1 services for browsers, frames in PROTOCOL.md."""
from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, WebSocket, status

from mtor_common.config import GatewaySection

from ..link import RealmLink
from .handshake import SUBPROTOCOL, bearer, offered, origin_allowed
from .session import Session


def router(cfg: GatewaySection, link: Callable[[], RealmLink]) -> APIRouter:
    api = APIRouter()

    @api.websocket("/ws")
    async def bridge(ws: WebSocket) -> None:
        if not origin_allowed(ws, cfg.origins):
            await ws.close(code=status.WS_1008_POLICY_VIOLATION)  # before accept: the upgrade is refused with 403
            return
        protocols = offered(ws)
        await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in protocols else None)
        await Session(ws, cfg, link(), bearer(protocols)).serve()

    return api
