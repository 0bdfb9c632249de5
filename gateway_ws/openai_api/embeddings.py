"""POST /v1/embeddings: OpenAI's embeddings request as one embed intent, its vectors in OpenAI's list shape.

`input` is one string or a list of strings (token arrays are refused by name: MTOR carries text);
`encoding_format` is "float" or "base64" (little-endian float32, as OpenAI sends it and as the openai SDK
asks for by default); `dimensions` is accepted only at the model's native size, since MTOR does not shorten
vectors, and checked against the vectors the worker sent.
"""
from __future__ import annotations

import base64
import struct
from typing import Any, Literal

from fastapi.responses import JSONResponse
from mtor_client._proto.mtor.v1 import intent_pb2
from pydantic import BaseModel, ConfigDict, Field

from mtor_server.validate import MAX_EMBED_TEXTS

from . import params
from .answers import mtor_headers, outcome
from .errors import ApiError, bad_request, unsupported
from .submission import Submission

_DROPPED = {"user"}  # does not change the answer


class EmbeddingsBody(BaseModel):
    """The request; other keys land in `model_extra`: `user` is dropped, any other is refused by name."""
    model_config = ConfigDict(extra="allow")
    input: Any = None
    model: str = ""
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)

    def texts(self) -> list[str]:
        """`input` as the texts to embed, or a 400 naming `input`."""
        given = self.input
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not given:
            raise bad_request("input must be a string or a non-empty list of strings", "input")
        if any(isinstance(item, (int, list)) and not isinstance(item, bool) for item in given):
            raise unsupported("input", "token arrays are not taken; give the text itself (a string or a list "
                                       "of strings)")
        for i, item in enumerate(given):
            if not isinstance(item, str):
                raise bad_request(f"input[{i}] is {type(item).__name__}, not a string", "input")
            if not item.strip():
                raise bad_request(f"input[{i}] is empty", "input")
        if len(given) > MAX_EMBED_TEXTS:
            raise bad_request(f"input has {len(given)} texts; at most {MAX_EMBED_TEXTS}", "input")
        return given


def parse(raw: bytes) -> EmbeddingsBody:
    """The body, or a 400 naming what is wrong: not JSON, a bad field, or an unknown parameter."""
    body = params.parse(raw, EmbeddingsBody, neutral={}, dropped=_DROPPED)
    if body.input is None:
        raise bad_request("input is required: a string or a list of strings", "input")
    return body


def intent(body: EmbeddingsBody) -> intent_pb2.IntentRequest:
    return intent_pb2.IntentRequest(model=body.model, embed=intent_pb2.EmbedRequest(texts=body.texts()))


async def answer(submission: Submission, body: EmbeddingsBody) -> JSONResponse:
    """Wait for the vectors; a failed intent answers with its status."""
    result = await outcome(submission)
    if not result.HasField("embeddings"):
        raise ApiError(502, "the realm answered the embed intent without embeddings", type="server_error",
                       code="bad_gateway")
    out = result.embeddings
    native = out.dimensions or (len(out.vectors[0].values) if out.vectors else 0)
    if body.dimensions is not None and body.dimensions != native:
        raise unsupported("dimensions", f"{result.model or 'the model'} makes vectors of {native} dimensions "
                                        "and MTOR does not shorten them; leave dimensions out or give "
                                        f"{native}")
    data = [{"object": "embedding", "index": i, "embedding": _encoded(list(v.values), body.encoding_format)}
            for i, v in enumerate(out.vectors)]
    return JSONResponse(
        {"object": "list", "data": data, "model": result.model or body.model,
         "usage": {"prompt_tokens": out.prompt_tokens, "total_tokens": out.prompt_tokens}},
        headers=mtor_headers(submission, result))


def _encoded(values: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return values
