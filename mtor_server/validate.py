"""Checks on an incoming intent, each failure naming the field that is wrong."""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import intent_pb2
from mtor_client.kinds import KINDS, kind_of

from .errors import invalid

MAX_REQUEST_ID = 128
MAX_MODEL = 256
MAX_IMAGE_SIDE = 4096
MAX_STEPS = 1000
MAX_EMBED_TEXTS = 2048  # OpenAI's limit on inputs per embeddings request
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
    if chat.HasField("top_p") and not 0.0 < chat.top_p <= 1.0:  # NaN fails this too
        raise invalid(f"chat.top_p is {chat.top_p:g}; use a number above 0.0, at most 1.0")


def _transcribe(t: intent_pb2.TranscribeRequest) -> None:
    if not t.audio:
        raise invalid("transcribe.audio is empty")
    if t.HasField("temperature") and not 0.0 <= t.temperature <= 1.0:
        raise invalid(f"transcribe.temperature is {t.temperature:g}; use 0.0 to 1.0")


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


def _embed(e: intent_pb2.EmbedRequest) -> None:
    if not e.texts:
        raise invalid("embed.texts is empty: give at least one text")
    if len(e.texts) > MAX_EMBED_TEXTS:
        raise invalid(f"embed.texts has {len(e.texts)} texts; at most {MAX_EMBED_TEXTS}")
    for i, text in enumerate(e.texts):
        if not text.strip():
            raise invalid(f"embed.texts[{i}] is empty")


def _converse(c: intent_pb2.ConverseRequest) -> None:
    if not c.audio:
        raise invalid("converse.audio is empty")
    for i, message in enumerate(c.history):
        if message.role not in ROLES:
            raise invalid(f"converse.history[{i}].role is {message.role!r}; use one of {', '.join(ROLES)}")
    if c.HasField("temperature") and not 0.0 <= c.temperature <= 2.0:
        raise invalid(f"converse.temperature is {c.temperature:g}; use 0.0 to 2.0")


_CHECKS = {"chat": _chat, "transcribe": _transcribe, "speak": _speak, "imagine": _imagine, "vision": _vision,
           "embed": _embed, "converse": _converse}
