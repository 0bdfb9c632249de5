"""The five intent kinds as the worker names them ("chat" ...), and their
mapping to the `mtor.v1.Kind` enum, so backends never deal with enum numbers.
"""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import intent_pb2

KINDS: tuple[str, ...] = ("chat", "transcribe", "speak", "imagine", "vision")
"""Kind names; each equals the IntentRequest payload field that carries it."""

_TO_PROTO: dict[str, int] = {
    "chat": intent_pb2.KIND_CHAT,
    "transcribe": intent_pb2.KIND_TRANSCRIBE,
    "speak": intent_pb2.KIND_SPEAK,
    "imagine": intent_pb2.KIND_IMAGINE,
    "vision": intent_pb2.KIND_VISION,
}
_FROM_PROTO: dict[int, str] = {v: k for k, v in _TO_PROTO.items()}


def to_proto(kind: str) -> int:
    """`"chat"` -> `KIND_CHAT`; unknown names raise ValueError."""
    try:
        return _TO_PROTO[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}") from None


def from_proto(kind: int) -> str:
    """`KIND_CHAT` -> `"chat"`; unspecified or unknown values raise ValueError."""
    try:
        return _FROM_PROTO[kind]
    except KeyError:
        raise ValueError(f"unknown kind value {kind}") from None


def kind_of(request: intent_pb2.IntentRequest) -> str | None:
    """The kind a request asks for (its payload field), or None without a payload."""
    which = request.WhichOneof("payload")
    return None if which is None else str(which)
