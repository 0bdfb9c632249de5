"""The OpenAI-compatible HTTP API (/v1), onto the realm's intents."""
from __future__ import annotations

from typing import Callable

from fastapi import APIRouter

from mtor_server.config import GatewaySection

from ..link import RealmLink


def router(cfg: GatewaySection, link: Callable[[], RealmLink]) -> APIRouter:
    return APIRouter(prefix="/v1")
