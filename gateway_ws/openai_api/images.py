"""POST /v1/images/generations, onto an imagine intent: one PNG, answered as base64 (`b64_json`).

Parameters follow params.py's rule: honoured, dropped where they do not change the answer, accepted only at
their neutral value, or a 400 naming them.
"""
from __future__ import annotations

import base64
import re
import time
from typing import Any, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from mtor_client._proto.mtor.v1 import intent_pb2
from pydantic import BaseModel, ConfigDict, Field

from ..link import RealmLink
from . import bearer, read_body
from .answers import mtor_headers, result_for
from .errors import bad_request, unsupported
from .params import parse

MAX_SIDE = 4096
"""The realm's own limit on each side (mtor_server/validate.py), said here before the intent is submitted."""
_SIZE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
_NEUTRAL: dict[str, Callable[[Any], bool]] = {
    "quality": lambda v: v in (None, "auto", "standard"),
    "style": lambda v: v is None,
    "background": lambda v: v in (None, "auto"),
    "moderation": lambda v: v in (None, "auto"),
    "output_format": lambda v: v in (None, "png"),  # workers make PNGs
    "output_compression": lambda v: v is None,
    "partial_images": lambda v: v in (None, 0),
    "stream": lambda v: v in (None, False),
}


class ImageBody(BaseModel):
    """What an imagine intent takes; other keys land in `model_extra`, judged by _NEUTRAL."""
    model_config = ConfigDict(extra="allow")
    model: str = ""
    prompt: str = Field(min_length=1, max_length=32000)
    size: str = "auto"
    """"WxH" in pixels, or "auto" for the worker's default (512x512)."""
    n: int | None = None
    response_format: str | None = None

    def imagine(self) -> intent_pb2.ImagineRequest:
        if self.n not in (None, 1):
            raise unsupported("n", f"{self.n}: an imagine intent makes one image, so n is 1")
        if self.response_format not in (None, "b64_json"):
            raise unsupported("response_format", f"{self.response_format!r}: MTOR answers 'b64_json' only "
                                                 "(the gateway keeps no images to link to)")
        if self.size == "auto":
            return intent_pb2.ImagineRequest(prompt=self.prompt)
        match = _SIZE.match(self.size)
        if not match:
            raise bad_request(f"invalid size {self.size!r}: use 'WIDTHxHEIGHT' in pixels (e.g. '512x512') or "
                              "'auto'", "size")
        width, height = int(match.group(1)), int(match.group(2))
        if max(width, height) > MAX_SIDE:
            raise bad_request(f"invalid size {self.size!r}: each side is at most {MAX_SIDE} pixels", "size")
        return intent_pb2.ImagineRequest(prompt=self.prompt, width=width, height=height)


def add_routes(api: APIRouter, link: Callable[[], RealmLink]) -> None:
    @api.post("/images/generations")
    async def generations(request: Request) -> Response:
        body = parse(await read_body(request), ImageBody, _NEUTRAL, {"user"})
        submission, result = await result_for(request, link(), bearer(request),
                                              intent_pb2.IntentRequest(model=body.model, imagine=body.imagine()))
        image = result.image
        answer = {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(image.png).decode(),
                                                         "revised_prompt": None}],
                  "output_format": "png", "size": f"{image.width}x{image.height}"}
        return JSONResponse(answer, headers={**mtor_headers(submission, result), "x-mtor-seed": str(image.seed)})
