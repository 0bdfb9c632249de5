"""The WebSocket bridge (/ws): the allow-listed mtor.v1 services for browsers (PROTOCOL.md)."""
from __future__ import annotations

from typing import Callable

from fastapi import APIRouter

from mtor_server.config import GatewaySection

from .link import RealmLink


def router(cfg: GatewaySection, link: Callable[[], RealmLink]) -> APIRouter:
    return APIRouter()
