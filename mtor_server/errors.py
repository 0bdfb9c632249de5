"""The one exception realm code raises to answer a caller with a gRPC status."""
from __future__ import annotations

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2


class RealmError(Exception):
    """Becomes the status of the call that raised it."""

    def __init__(self, code: grpc.StatusCode, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        """For RESOURCE_EXHAUSTED: when trying again can succeed (sent as `retry-after` trailing metadata)."""

    @property
    def trailers(self) -> tuple[tuple[str, str], ...]:
        if self.retry_after_s is None:
            return ()
        return (("retry-after", f"{max(0.0, self.retry_after_s):.3f}"),)


def invalid(message: str) -> RealmError:
    return RealmError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(intent_id: str) -> RealmError:
    return RealmError(grpc.StatusCode.NOT_FOUND, f"no intent with id {intent_id!r} (unknown, or expired)")


def intent_error(code: grpc.StatusCode, message: str) -> intent_pb2.Error:
    """How an intent's failure is told to its caller (its `failed` event)."""
    return intent_pb2.Error(code=code.value[0], message=message)
