"""The intent kinds by name ("chat" ...), each the IntentRequest payload field
that carries it, and their `mtor.v1.Kind` enum numbers. The one mapping that
the client, the realm and the worker share."""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import intent_pb2

WORKER_KINDS: tuple[str, ...] = ("chat", "transcribe", "speak", "imagine", "vision", "embed")
"""Kinds a worker serves."""
KINDS: tuple[str, ...] = (*WORKER_KINDS, "converse")
"""Every kind a caller may ask for; converse the realm composes from the others."""

NUMBERS: dict[str, int] = {name: intent_pb2.Kind.Value(f"KIND_{name.upper()}") for name in KINDS}
NAMES: dict[int, str] = {number: name for name, number in NUMBERS.items()}


def to_proto(kind: str) -> int:
    """`"chat"` -> `KIND_CHAT`; unknown names raise ValueError."""
    try:
        return NUMBERS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}") from None


def name_of(number: int) -> str | None:
    """`KIND_CHAT` -> `"chat"`; None for UNSPECIFIED and values this version does not know."""
    return NAMES.get(number)


def kind_of(request: intent_pb2.IntentRequest) -> str | None:
    """The kind a request asks for (its payload field), or None without a payload we know."""
    return request.WhichOneof("payload")
