"""Request bodies of /v1/chat/completions and /v1/completions, parsed into a ChatRequest.

Every parameter is either honoured (a field of mtor.v1's ChatRequest), harmless to drop (`user`, `store`,
`metadata`: they do not change the answer), accepted only at its neutral value (`n` = 1, no `tools`, ...),
or refused with a 400 naming it: a client never gets an answer that silently ignored what it asked for.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Callable, Literal, TypeVar

from mtor_client._proto.mtor.v1 import intent_pb2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import bad_request, unsupported

# Parameters OpenAI defines that MTOR cannot honour, each with the test of its neutral value (which asks
# for nothing MTOR lacks, so it is accepted).
_NEUTRAL: dict[str, Callable[[Any], bool]] = {
    "n": lambda v: v in (None, 1),
    "best_of": lambda v: v in (None, 1),
    "logprobs": lambda v: v in (None, False, 0),
    "top_logprobs": lambda v: v in (None, 0),
    "echo": lambda v: v in (None, False),
    "suffix": lambda v: v in (None, ""),
    "frequency_penalty": lambda v: v in (None, 0, 0.0),
    "presence_penalty": lambda v: v in (None, 0, 0.0),
    "logit_bias": lambda v: not v,
    "tools": lambda v: not v,
    "functions": lambda v: not v,
    "tool_choice": lambda v: v in (None, "none", "auto"),
    "function_call": lambda v: v in (None, "none", "auto"),
    "parallel_tool_calls": lambda v: v is None or isinstance(v, bool),
    "response_format": lambda v: v is None or v == {"type": "text"},
    "modalities": lambda v: v in (None, ["text"]),
    "audio": lambda v: v is None,
    "prediction": lambda v: v is None,
    "reasoning_effort": lambda v: v is None,
    "service_tier": lambda v: v in (None, "auto", "default"),
    "web_search_options": lambda v: v is None,
}
_DROPPED = {"user", "store", "metadata"}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False
    include_obfuscation: bool | None = None
    """Asks to pad chunks against length side channels; there is nothing to pad here, so it is moot."""


class CommonBody(BaseModel):
    """What both endpoints take; other keys land in `model_extra` and are judged by `_NEUTRAL`."""
    model_config = ConfigDict(extra="allow")
    model: str = ""
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=0)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = Field(None, ge=-2**63, lt=2**63)
    stop: str | list[str] | None = None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def chat_request(self) -> intent_pb2.ChatRequest:
        """The fields ChatRequest has; the payload (prompt or messages) is the subclass's."""
        request = intent_pb2.ChatRequest(max_tokens=self.limit or 0)
        if self.temperature is not None:
            request.temperature = self.temperature
        if self.top_p is not None:
            request.top_p = self.top_p
        if self.seed is not None:
            request.seed = self.seed
        if self.stop:
            request.stop.extend([self.stop] if isinstance(self.stop, str) else self.stop)
        return request

    @property
    def limit(self) -> int | None:
        return self.max_tokens


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ImagePart(BaseModel):
    """A picture in a user's message: the question is a vision intent."""
    model_config = ConfigDict(extra="forbid")
    type: Literal["image_url"]
    image_url: ImageURL


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[Annotated[TextPart | ImagePart, Field(discriminator="type")]] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if isinstance(part, TextPart))
        return self.content or ""

    def images(self) -> list[tuple[int, ImagePart]]:
        """(index in content, part) of each picture."""
        if not isinstance(self.content, list):
            return []
        return [(j, part) for j, part in enumerate(self.content) if isinstance(part, ImagePart)]


class ChatBody(CommonBody):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=0)

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def chat_request(self) -> intent_pb2.ChatRequest:
        request = super().chat_request()
        for m in self.messages:  # "developer" is OpenAI's newer name for "system"
            request.messages.add(role="system" if m.role == "developer" else m.role, content=m.text())
        return request

    def intent(self) -> intent_pb2.IntentRequest:
        """A chat intent; a vision intent where a message holds a picture."""
        pictures = [(i, j, part) for i, m in enumerate(self.messages) for j, part in m.images()]
        if not pictures:
            return intent_pb2.IntentRequest(model=self.model, chat=self.chat_request())
        if len(pictures) > 1 or len(self.messages) > 1 or self.messages[0].role != "user":
            raise unsupported("messages", "a question about a picture is one user message with one image and "
                                          "its question (MTOR's vision intent carries no history)")
        for name in ("temperature", "top_p", "seed", "stop"):
            if getattr(self, name) not in (None, [], ""):
                raise unsupported(name, "a question about a picture takes no sampling parameters in MTOR yet")
        i, j, part = pictures[0]
        image = _data_url(part.image_url.url, f"messages.{i}.content.{j}.image_url.url")
        return intent_pb2.IntentRequest(model=self.model, vision=intent_pb2.VisionRequest(
            image=image, prompt=self.messages[0].text(), max_tokens=self.limit or 0))


class CompletionBody(CommonBody):
    prompt: str | list[str] = Field(min_length=1)

    def intent(self) -> intent_pb2.IntentRequest:
        return intent_pb2.IntentRequest(model=self.model, chat=self.chat_request())

    def chat_request(self) -> intent_pb2.ChatRequest:
        if isinstance(self.prompt, list) and len(self.prompt) > 1:
            raise unsupported("prompt", "one prompt per request (a list of several would need n answers)")
        request = super().chat_request()
        request.prompt = self.prompt if isinstance(self.prompt, str) else self.prompt[0]
        return request


def _data_url(url: str, param: str) -> bytes:
    """The bytes of a `data:image/...;base64,...` URL. The gateway fetches no URL (a page could make it call
    any address it reaches)."""
    head, comma, payload = url.partition(",")
    if not url.startswith("data:") or not comma or not head.endswith(";base64"):
        raise unsupported(param, "give the image inline, as a data:image/...;base64,... URL; MTOR fetches no URL")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"{param} is not valid base64", param) from None


Model = TypeVar("Model", bound=BaseModel)


def parse(raw: bytes, model: type[Model], neutral: dict[str, Callable[[Any], bool]] | None = None,
          dropped: set[str] | None = None) -> Model:
    """The body as `model`, or a 400 naming what is wrong: not JSON, a bad field, or a parameter MTOR
    cannot honour. `neutral` and `dropped` judge the keys `model` does not name (chat's by default)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad_request(f"the request body is not valid JSON: {e}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object", code="invalid_json")
    return check(data, model, neutral, dropped)


def check(data: dict[str, Any], model: type[Model], neutral: dict[str, Callable[[Any], bool]] | None = None,
          dropped: set[str] | None = None) -> Model:
    """`data` (a JSON body, or an upload's form fields) as `model`; its other keys must be in `dropped`, or
    in `neutral` at their neutral value, else a 400 naming them."""
    neutral = _NEUTRAL if neutral is None else neutral
    dropped = _DROPPED if dropped is None else dropped
    try:
        body = model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise bad_request(f"invalid {param or 'body'}: {first['msg']}", param) from None
    for key, value in (body.model_extra or {}).items():
        if key in dropped:
            continue
        if key not in neutral:
            raise bad_request(f"unrecognized request argument {key!r}", key, code="unknown_parameter")
        if not neutral[key](value):
            raise unsupported(key)
    return body
