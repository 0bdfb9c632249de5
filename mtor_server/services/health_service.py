"""grpc.health.v1.Health: grpc's asyncio servicer, with the List call its library leaves to the generated stub
(a synchronous NotImplementedError: every List call answered UNIMPLEMENTED and put a traceback in the log)."""
from __future__ import annotations

from typing import Iterable

import grpc
from grpc_health.v1 import health, health_pb2


class HealthService(health.aio.HealthServicer):
    def __init__(self, services: Iterable[str]) -> None:
        super().__init__()
        self._services = tuple(services)
        """The names List reports ("" for the whole server), as the realm sets them."""

    async def List(self, request: health_pb2.HealthListRequest,
                   context: grpc.aio.ServicerContext) -> health_pb2.HealthListResponse:
        response = health_pb2.HealthListResponse()
        for name in self._services:
            response.statuses[name].CopyFrom(await self.Check(health_pb2.HealthCheckRequest(service=name), context))
        return response
