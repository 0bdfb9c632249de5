"""The guard every call of the realm passes (services/_guard.py), on a real grpc server in this process with
a service that fails as no handler should: the caller gets INTERNAL with a short message, the log one
traceback a minute per method, and every failure is counted; bytes that do not decode never reach it."""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Awaitable, Callable, TypeVar

import grpc
from grpc_health.v1 import health_pb2

from mtor_server.metrics import Counter
from mtor_server.services._guard import RequestGuard, Throttle

T = TypeVar("T")
REQUEST = health_pb2.HealthCheckRequest
INTERNAL = (grpc.StatusCode.INTERNAL, "the realm failed on this call (KeyError); its log says more")


async def fail(request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> None:
    raise KeyError(request.service)


async def fail_streaming(request: health_pb2.HealthCheckRequest,
                         context: grpc.aio.ServicerContext) -> AsyncIterator[health_pb2.HealthCheckResponse]:
    yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
    raise KeyError(request.service)


class Guarded:
    """A grpc server with the guard and the failing service test.Failing (Unary, Streaming)."""

    def __init__(self) -> None:
        self.refused = Counter("refused_total", "R.", ("method", "reason"))
        self.failures = Counter("failures_total", "F.", ("method",))

    def run(self, use: Callable[[grpc.aio.Channel], Awaitable[T]]) -> T:
        async def serving() -> T:
            server = grpc.aio.server(interceptors=[RequestGuard(self.refused, self.failures)])
            common = {"request_deserializer": REQUEST.FromString,
                      "response_serializer": health_pb2.HealthCheckResponse.SerializeToString}
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Failing", {
                "Unary": grpc.unary_unary_rpc_method_handler(fail, **common),
                "Streaming": grpc.unary_stream_rpc_method_handler(fail_streaming, **common)}),))
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    return await use(channel)
            finally:
                await server.stop(None)

        return asyncio.run(serving())


async def answer(channel: grpc.aio.Channel, method: str, payload: bytes) -> tuple[grpc.StatusCode, str, int]:
    """The status of one call with these bytes, and how many responses came before it."""
    responses = 0
    try:
        if method == "Streaming":
            async for _ in channel.unary_stream(f"/test.Failing/{method}")(payload, timeout=5):
                responses += 1
        else:
            await channel.unary_unary(f"/test.Failing/{method}")(payload, timeout=5)
    except grpc.aio.AioRpcError as e:
        return e.code(), e.details() or "", responses
    return grpc.StatusCode.OK, "", responses


def test_an_unexpected_exception_is_internal_logged_once_a_minute_and_counted(caplog):
    guarded = Guarded()
    payload = REQUEST(service="x").SerializeToString()

    async def twenty(channel: grpc.aio.Channel) -> list[tuple[grpc.StatusCode, str, int]]:
        return [await answer(channel, method, payload) for _ in range(10) for method in ("Unary", "Streaming")]

    with caplog.at_level(logging.INFO, logger="mtor.rpc"):
        answers = guarded.run(twenty)
    assert answers == [(*INTERNAL, 0), (*INTERNAL, 1)] * 10  # the streaming call's first response came through
    assert guarded.failures.value(method="/test.Failing/Unary") == 10
    assert guarded.failures.value(method="/test.Failing/Streaming") == 10
    lines = [r for r in caplog.records if r.name == "mtor.rpc"]
    assert [r.getMessage() for r in lines] == [
        f"/test.Failing/{m} failed on an unexpected KeyError; answered INTERNAL (counted in mtor_rpc_failures_total)"
        for m in ("Unary", "Streaming")]
    assert all(r.exc_info is not None for r in lines)  # each with its traceback


def test_bytes_that_do_not_decode_never_reach_the_handler():
    guarded = Guarded()

    async def both(channel: grpc.aio.Channel) -> list[tuple[grpc.StatusCode, str, int]]:
        return [await answer(channel, "Unary", payload) for payload in (b"\xff", REQUEST().SerializeToString())]

    undecodable, decoded = guarded.run(both)
    assert undecodable[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert undecodable[1].startswith("the request does not decode as grpc.health.v1.HealthCheckRequest: ")
    assert decoded == (*INTERNAL, 0)
    assert guarded.refused.value(method="/test.Failing/Unary", reason="undecodable") == 1
    assert guarded.failures.value(method="/test.Failing/Unary") == 1


def test_the_throttle_speaks_first_then_once_a_period_saying_how_many_it_held():
    now = [100.0]
    throttle = Throttle(every_s=60.0, clock=lambda: now[0])
    assert throttle.due("a") == 0
    assert [throttle.due("a") for _ in range(3)] == [None, None, None]
    assert throttle.due("b") == 0  # each key on its own
    now[0] += 61.0
    assert throttle.due("a") == 3 and throttle.due("a") is None
