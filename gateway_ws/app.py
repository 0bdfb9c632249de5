"""The gateway's ASGI application: the WebSocket bridge, the OpenAI-compatible API, the browser page and what they
share."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mtor_client import TLS

from mtor_common.config import GatewaySection

from . import bridge, openai_api
from .link import RealmLink
from .site import PageMount


def create_app(cfg: GatewaySection, realm: str, tls: TLS | None = None) -> FastAPI:
    """`realm`: the realm's address, called over one channel opened when the app starts."""
    state: dict[str, RealmLink] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["link"] = RealmLink.open(realm, tls)
        try:
            yield
        finally:
            await state.pop("link").close()

    def link() -> RealmLink:
        return state["link"]

    app = FastAPI(title="MTOR gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    if cfg.origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cfg.origins), allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["x-mtor-intent-id", "x-mtor-worker", "x-mtor-realm"])
    app.include_router(bridge.router(cfg, link))
    app.include_router(openai_api.router(cfg, link))
    openai_api.install_errors(app)  # OpenAI's error shape on every route, 404s and 405s included

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Whether the realm behind this gateway serves: for load balancers and `mtor up`."""
        response = await health_pb2_grpc.HealthStub(link().channel).Check(health_pb2.HealthCheckRequest(),
                                                                            timeout=5)
        return {"realm": health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}

    app.router.routes.append(PageMount())  # last: the routes above take their paths first
    return app
