"""The guard around every call the realm serves, whatever its service (health and reflection included).

A request that does not decode, or carries a number no field can use (services/_numbers.py), is answered
INVALID_ARGUMENT before any handler sees it; grpc alone would answer UNKNOWN and log a traceback for each.
An exception no handler expected is answered INTERNAL. Neither floods the log: one line per method and
fault a minute at most; every one is counted (mtor_rpc_refused_total, mtor_rpc_failures_total)."""
from __future__ import annotations

import contextlib
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc
from google.protobuf.message import Message

from ..metrics import Counter
from ._numbers import number_problem

log = logging.getLogger("mtor.rpc")

LOG_EVERY_S = 60.0
"""Least time between two log lines about the same method and fault."""
_MAX_DETAIL = 200
"""Characters of a parser's message kept in the status."""

Behavior = Callable[[Any, grpc.aio.ServicerContext], Any]
_BEHAVIORS = {(False, False): "unary_unary", (False, True): "unary_stream", (True, False): "stream_unary",
              (True, True): "stream_stream"}
"""RpcMethodHandler's behavior attribute by (request_streaming, response_streaming)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """What a guarded deserializer hands on instead of a request it refuses; the call ends INVALID_ARGUMENT."""

    reason: str
    """"undecodable" or "number": the label it is counted under."""
    message: str


class Throttle:
    """When to write a line about something that may happen thousands of times a second: the first time,
    then at most once per `every_s`, saying how many were held back meanwhile."""

    def __init__(self, every_s: float = LOG_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s, self._clock = every_s, clock
        self._next: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def due(self, key: str) -> int | None:
        """None: stay quiet (counted); else how many times `key` was held back since its last line."""
        now = self._clock()
        if now < self._next.get(key, 0.0):
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._next[key] = now + self.every_s
        return self._held.pop(key, 0)


class RequestGuard(grpc.aio.ServerInterceptor):
    """Wraps each method handler once: its deserializer refuses what it cannot use, its behavior answers a
    refusal with INVALID_ARGUMENT and an unexpected exception with INTERNAL."""

    def __init__(self, refused: Counter, failures: Counter) -> None:
        self._refused, self._failures = refused, failures
        self._throttle = Throttle()
        self._guarded: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
                                details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method
        guarded = self._guarded.get(method)
        if guarded is None:
            handler = await continuation(details)
            if handler is None:  # no such method: grpc answers UNIMPLEMENTED (and nothing is kept per name)
                return None
            guarded = self._guarded[method] = self._guard(method, handler)
        return guarded

    def _guard(self, method: str, handler: Any) -> Any:
        attribute = _BEHAVIORS[(handler.request_streaming, handler.response_streaming)]
        behavior, deserialize = getattr(handler, attribute), handler.request_deserializer
        if deserialize is None:
            return handler
        if inspect.isasyncgenfunction(behavior):
            wrapped = self._streaming(method, behavior, handler.request_streaming)
        elif inspect.iscoroutinefunction(behavior):
            wrapped = self._unary(method, behavior, handler.request_streaming)
        else:  # a synchronous handler (none is): left as grpc runs it
            return handler
        return handler._replace(request_deserializer=_decoder(deserialize, method), **{attribute: wrapped})

    def _unary(self, method: str, behavior: Behavior, request_streaming: bool) -> Behavior:
        """For a handler that returns its response (or writes its responses with context.write)."""

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await behavior(await self._request(method, request, context, request_streaming), context)
            except grpc.aio.BaseError:  # grpc's own: the call was aborted, finished or the server stops
                raise
            except Exception as e:
                await self._failed(method, context, e)
            return None

        return guarded

    def _streaming(self, method: str, behavior: Behavior, request_streaming: bool) -> Behavior:
        """For a handler that yields its responses."""

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                requests = await self._request(method, request, context, request_streaming)
                async with contextlib.aclosing(behavior(requests, context)) as responses:
                    async for response in responses:
                        yield response
            except grpc.aio.BaseError:  # grpc's own: the call was aborted, finished or the server stops
                raise
            except Exception as e:
                await self._failed(method, context, e)

        return guarded

    async def _request(self, method: str, request: Any, context: grpc.aio.ServicerContext,
                       request_streaming: bool) -> Any:
        """The request the handler gets: a refused one ends the call here; a stream of them is checked as it
        is read."""
        if request_streaming:
            return self._checked(method, request, context)
        if isinstance(request, Refused):
            await self._refuse(method, request, context)
        return request

    async def _checked(self, method: str, requests: AsyncIterator[Any],
                       context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, Refused):
                await self._refuse(method, request, context)
            yield request

    async def _refuse(self, method: str, refused: Refused, context: grpc.aio.ServicerContext) -> None:
        self._refused.inc(method=method, reason=refused.reason)
        if refused.reason == "undecodable" and (held := self._throttle.due(f"{method} undecodable")) is not None:
            log.warning("%s: a request did not decode%s; answered INVALID_ARGUMENT (counted in "
                        "mtor_rpc_refused_total)", method, f" ({held} more since the last such line)" if held else "")
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, refused.message)

    async def _failed(self, method: str, context: grpc.aio.ServicerContext, error: Exception) -> None:
        """An exception no handler expected: INTERNAL for the caller, its traceback in the log now and then."""
        self._failures.inc(method=method)
        if (held := self._throttle.due(f"{method} failed")) is not None:
            log.error("%s failed on an unexpected %s%s; answered INTERNAL (counted in mtor_rpc_failures_total)",
                      method, type(error).__name__, f" ({held} more since the last such line)" if held else "",
                      exc_info=error)
        if not context.done():  # else the handler had already ended the call (and then failed)
            await context.abort(grpc.StatusCode.INTERNAL, f"the realm failed on this call "
                                f"({type(error).__name__}); its log says more")


def _decoder(deserialize: Callable[[bytes], Any], method: str) -> Callable[[bytes], Any]:
    """`deserialize`, handing on a Refused instead of raising on bytes it cannot parse, or returning a request
    with a number no field can use."""
    message_type = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    type_name = message_type.full_name if message_type is not None else f"the request of {method}"

    def decode(data: bytes) -> Any:
        try:
            request = deserialize(data)
        except Exception as e:  # protobuf's DecodeError, or whatever a parser raises on bytes it cannot read
            return Refused("undecodable", f"the request does not decode as {type_name}: {str(e)[:_MAX_DETAIL]}")
        if isinstance(request, Message) and (problem := number_problem(request)) is not None:
            return Refused("number", problem)
        return request

    return decode
