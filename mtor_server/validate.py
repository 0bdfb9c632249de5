"""Checks on an incoming intent, each failure naming the field that is wrong."""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import intent_pb2
from mtor_client.kinds import KINDS, kind_of

from .errors import invalid

MAX_REQUEST_ID = 128
MAX_MODEL = 256
MAX_IMAGE_SIDE = 4096
MAX_STEPS = 1000
ROLES = ("system", "user", "assistant")


def validate_intent(request: intent_pb2.IntentRequest, max_payload_bytes: int) -> str:
    """Return the intent's kind, or raise INVALID_ARGUMENT saying what is wrong."""
    size = request.ByteSize()
    if size > max_payload_bytes:
        raise invalid(f"intent is {size} bytes; this realm accepts at most {max_payload_bytes} "
                      "(realm.max_payload_bytes)")
    kind = kind_of(request)
    if kind is None:
        raise invalid("intent has no payload this realm knows: set one of " + ", ".join(KINDS))
    if len(request.request_id) > MAX_REQUEST_ID:
        raise invalid(f"request_id is longer than {MAX_REQUEST_ID} characters")
    if len(request.model) > MAX_MODEL:
        raise invalid(f"model is longer than {MAX_MODEL} characters")
    _CHECKS[kind](getattr(request, kind))
    return kind


def _chat(chat: intent_pb2.ChatRequest) -> None:
    if not chat.messages and not chat.prompt.strip():
        raise invalid("chat.prompt is empty: set prompt or messages")
    for i, message in enumerate(chat.messages):
        if message.role not in ROLES:
            raise invalid(f"chat.messages[{i}].role is {message.role!r}; use one of {', '.join(ROLES)}")
        if not message.content.strip():
            raise invalid(f"chat.messages[{i}].content is empty")
    if chat.HasField("temperature") and not 0.0 <= chat.temperature <= 2.0:
        raise invalid(f"chat.temperature is {chat.temperature:g}; use 0.0 to 2.0")


def _transcribe(t: intent_pb2.TranscribeRequest) -> None:
    if not t.audio:
        raise invalid("transcribe.audio is empty")


def _speak(s: intent_pb2.SpeakRequest) -> None:
    if not s.text.strip():
        raise invalid("speak.text is empty")


def _imagine(m: intent_pb2.ImagineRequest) -> None:
    if not m.prompt.strip():
        raise invalid("imagine.prompt is empty")
    for side in ("width", "height"):
        if getattr(m, side) > MAX_IMAGE_SIDE:
            raise invalid(f"imagine.{side} is {getattr(m, side)}; at most {MAX_IMAGE_SIDE} pixels")
    if m.steps > MAX_STEPS:
        raise invalid(f"imagine.steps is {m.steps}; at most {MAX_STEPS}")


def _vision(v: intent_pb2.VisionRequest) -> None:
    if not v.image:
        raise invalid("vision.image is empty")


def _converse(c: intent_pb2.ConverseRequest) -> None:
    if not c.audio:
        raise invalid("converse.audio is empty")
    for i, message in enumerate(c.history):
        if message.role not in ROLES:
            raise invalid(f"converse.history[{i}].role is {message.role!r}; use one of {', '.join(ROLES)}")
    if c.HasField("temperature") and not 0.0 <= c.temperature <= 2.0:
        raise invalid(f"converse.temperature is {c.temperature:g}; use 0.0 to 2.0")


_CHECKS = {"chat": _chat, "transcribe": _transcribe, "speak": _speak, "imagine": _imagine, "vision": _vision,
           "converse": _converse}
