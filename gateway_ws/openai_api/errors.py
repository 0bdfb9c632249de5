"""Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, from one table of gRPC codes.

OpenAI clients branch on the HTTP status (the SDK raises BadRequestError, RateLimitError, ...) and read
`error.message`; the realm answers in gRPC codes. Everything the /v1 API refuses goes through `ApiError`,
and app-wide handlers (`install`) give 404s, 405s and unparseable bodies of any route the same shape.
"""
from __future__ import annotations

import logging
import math
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mtor_client.errors import retry_after_s
from starlette.exceptions import HTTPException

log = logging.getLogger("mtor.gateway.openai")

# gRPC code -> (HTTP status, OpenAI error type). Codes not listed are 500 "server_error".
STATUS: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request_error"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "invalid_request_error"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid_request_error"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "authentication_error"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_error"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found_error"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "conflict_error"),
    grpc.StatusCode.ABORTED: (409, "conflict_error"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "rate_limit_error"),
    grpc.StatusCode.CANCELLED: (499, "cancelled"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "timeout_error"),
}
SERVER_ERROR = (500, "server_error")
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
# HTTP statuses the gateway itself answers (no gRPC code behind them) -> OpenAI error type.
_HTTP_TYPES = {400: "invalid_request_error", 404: "not_found_error", 405: "invalid_request_error",
               413: "invalid_request_error", 415: "invalid_request_error"}


class ApiError(Exception):
    """An answer other than 2xx, in OpenAI's shape. `code` is a string, as OpenAI's are."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> ApiError:
    return ApiError(400, message, param=param, code=code)


def unsupported(param: str, why: str = "MTOR cannot honour it") -> ApiError:
    """A parameter the realm has no way to honour: refused by name rather than silently ignored."""
    return ApiError(400, f"unsupported parameter {param!r}: {why}", param=param, code="unsupported_parameter")


def from_code(code: grpc.StatusCode, message: str, retry_after_s: float | None = None) -> ApiError:
    """The realm's status as an HTTP answer; `retry_after_s` (from the realm's `retry-after` trailer) becomes
    a whole-second Retry-After header, as HTTP wants it."""
    status, type_ = STATUS.get(code, SERVER_ERROR)
    headers: dict[str, str] = {}
    if retry_after_s is not None and math.isfinite(retry_after_s):
        headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
    return ApiError(status, message or code.name, type=type_, code=code.name.lower(), headers=headers)


def from_number(number: int, message: str) -> ApiError:
    """A `failed` event's google.rpc.Code number as an HTTP answer."""
    return from_code(_BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN), message)


def from_rpc(error: grpc.aio.AioRpcError) -> ApiError:
    """A failed gRPC call as an HTTP answer, with the realm's retry-after when it sent one."""
    return from_code(error.code(), error.details() or "", retry_after_s(error.trailing_metadata()))


def install(app: FastAPI) -> None:
    """OpenAI's error shape for every route: the /v1 API's own refusals, Starlette's 404s and 405s, and
    bodies FastAPI cannot parse."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, e: ApiError) -> JSONResponse:
        return e.response()

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, e: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, f"http_{e.status_code}")
        error = ApiError(e.status_code, str(e.detail), type=_HTTP_TYPES.get(e.status_code, "server_error"),
                         code=code, headers=dict(e.headers or {}))
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, e: RequestValidationError) -> JSONResponse:
        first = (e.errors() or [{}])[0]
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return bad_request(f"invalid request: {first.get('msg', 'does not parse')}", param).response()

    @app.exception_handler(grpc.aio.AioRpcError)
    async def realm_error(_: Request, e: grpc.aio.AioRpcError) -> JSONResponse:
        return from_rpc(e).response()

    @app.exception_handler(Exception)
    async def unexpected(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error in a gateway route")
        return ApiError(500, f"internal error in the gateway: {type(e).__name__}", type="server_error",
                        code="internal").response()
