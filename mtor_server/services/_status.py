"""Turn RealmError into the call's status."""
from __future__ import annotations

import functools
from typing import Any, Callable

import grpc

from ..errors import RealmError


def unary(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await handler(self, request, context)
        except RealmError as e:
            await context.abort(e.code, e.message, trailing_metadata=e.trailers)

    return wrapper


def streaming(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            async for item in handler(self, request, context):
                yield item
        except RealmError as e:
            await context.abort(e.code, e.message, trailing_metadata=e.trailers)

    return wrapper
