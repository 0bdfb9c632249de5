"""Plain exceptions for everything that can go wrong talking to a realm.

Callers catch these instead of grpc.RpcError, so code that uses the client
never needs to know gRPC is underneath; the status code is still there for
those who want it.
"""

from __future__ import annotations

from typing import Any, Iterable

import grpc

__all__ = [
    "MtorError",
    "InvalidArgument",
    "NotFound",
    "ResourceExhausted",
    "Unavailable",
    "Cancelled",
    "DeadlineExceeded",
    "PermissionDenied",
    "Unauthenticated",
    "FailedPrecondition",
    "Internal",
    "error_from_rpc",
    "error_from_status",
]


class MtorError(Exception):
    """A failed call or a failed intent, with its gRPC status.

    Subclasses fix `code`, so `NotFound("no intent")` needs no code; the base
    class takes any code as a keyword: `MtorError("x", code=StatusCode.ABORTED)`.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str = "",
        *,
        code: grpc.StatusCode | None = None,
        intent_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        if code is not None:
            self.code = code
        self.intent_id: str | None = intent_id
        self.retry_after_s: float | None = None
        """Set when the realm said when a retry can succeed (a quota's RESOURCE_EXHAUSTED)."""

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}" if self.message else self.code.name

    def __eq__(self, other: object) -> bool:
        # Value equality, so results holding errors (Failed, IntentInfo) compare sensibly.
        if not isinstance(other, MtorError):
            return NotImplemented
        return (type(self), self.code, self.message, self.intent_id) == (
            type(other),
            other.code,
            other.message,
            other.intent_id,
        )

    def __hash__(self) -> int:
        return hash((type(self), self.code, self.message, self.intent_id))


class InvalidArgument(MtorError):
    """The request was malformed; the message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(MtorError):
    """No such intent (unknown or expired id)."""

    code = grpc.StatusCode.NOT_FOUND


class ResourceExhausted(MtorError):
    """The realm's queue is full or a quota ran out; try again later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(MtorError):
    """The realm could not be reached."""

    code = grpc.StatusCode.UNAVAILABLE


class Cancelled(MtorError):
    """The intent or the call was cancelled."""

    code = grpc.StatusCode.CANCELLED


class DeadlineExceeded(MtorError):
    """The call's timeout or the realm's queue wait limit ran out."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class PermissionDenied(MtorError):
    """The caller may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(MtorError):
    """The token is missing or not accepted."""

    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(MtorError):
    """The realm is not in a state to do this (e.g. no worker can serve the model)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Internal(MtorError):
    """A bug or breakage on the realm's or worker's side."""

    code = grpc.StatusCode.INTERNAL


_CLASS_BY_CODE: dict[grpc.StatusCode, type[MtorError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        ResourceExhausted,
        Unavailable,
        Cancelled,
        DeadlineExceeded,
        PermissionDenied,
        Unauthenticated,
        FailedPrecondition,
        Internal,
    )
}

_CODE_BY_NUMBER: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}


def _status_code(code: int | grpc.StatusCode) -> grpc.StatusCode:
    """The StatusCode for a numeric code; unknown numbers (and OK, which is no error) become UNKNOWN."""
    if isinstance(code, grpc.StatusCode):
        found = code
    else:
        found = _CODE_BY_NUMBER.get(int(code), grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.UNKNOWN if found is grpc.StatusCode.OK else found


def error_from_status(
    code: int | grpc.StatusCode, message: str, intent_id: str | None = None
) -> MtorError:
    """The exception for a status, e.g. from an intent's `failed` event."""
    status = _status_code(code)
    cls = _CLASS_BY_CODE.get(status)
    if cls is None:
        return MtorError(message, code=status, intent_id=intent_id)
    return cls(message, intent_id=intent_id)


def retry_after_s(trailers: Iterable[tuple[str, Any]] | None) -> float | None:
    """The realm's `retry-after` trailer (seconds, on RESOURCE_EXHAUSTED), if it sent a usable one."""
    for key, value in trailers or ():
        if key == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def error_from_rpc(e: grpc.RpcError, intent_id: str | None = None) -> MtorError:
    """The exception for a failed gRPC call (sync or aio)."""
    code_fn = getattr(e, "code", None)
    details_fn = getattr(e, "details", None)
    code = code_fn() if callable(code_fn) else None
    details = details_fn() if callable(details_fn) else None
    if code is None:
        return MtorError(str(e), intent_id=intent_id)
    error = error_from_status(code, details or "", intent_id)
    trailers_fn = getattr(e, "trailing_metadata", None)
    error.retry_after_s = retry_after_s(trailers_fn() if callable(trailers_fn) else None)
    return error
