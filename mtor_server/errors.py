"""The one exception realm code raises to answer a caller with a gRPC status."""
from __future__ import annotations

import grpc


class RealmError(Exception):
    """Becomes the status of the call that raised it."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> RealmError:
    return RealmError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(intent_id: str) -> RealmError:
    return RealmError(grpc.StatusCode.NOT_FOUND, f"no intent with id {intent_id!r} (unknown, or expired)")
