"""Intent kinds: the payload field that carries each, and its enum value."""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import intent_pb2

KINDS: tuple[str, ...] = ("chat", "transcribe", "speak", "imagine", "vision")

_TO_ENUM = {name: intent_pb2.Kind.Value(f"KIND_{name.upper()}") for name in KINDS}
_FROM_ENUM = {v: k for k, v in _TO_ENUM.items()}


def kind_enum(name: str) -> int:
    return _TO_ENUM[name]


def kind_name(value: int) -> str | None:
    """Name of a Kind enum value, or None for UNSPECIFIED and unknown values."""
    return _FROM_ENUM.get(value)


def kind_of(request: intent_pb2.IntentRequest) -> str | None:
    """Kind of an intent, from its payload; None when it carries none we know."""
    return request.WhichOneof("payload")
