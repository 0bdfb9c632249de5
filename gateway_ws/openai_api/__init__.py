"""The OpenAI-compatible HTTP API (/v1), onto the realm's intents. See README.md here for what MTOR adds."""
from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Request, Response

from mtor_common.config import GatewaySection

from ..link import RealmLink
from . import answers, embeddings, errors
from .errors import ApiError
from .models import list_models
from .params import ChatBody, CompletionBody, parse
from .submission import Submission

install_errors = errors.install
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body read: a long conversation fits many times over, a runaway upload does not."""


async def read_body(request: Request) -> bytes:
    """The body, read only up to MAX_BODY_BYTES: a client cannot grow the gateway's memory without bound."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is over {MAX_BODY_BYTES} bytes", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def bearer(request: Request) -> str | None:
    """The caller's token from `Authorization: Bearer <token>`, passed through to the realm; none (or an empty
    one) means the realm's anonymous user."""
    header = request.headers.get("authorization", "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(401, "the Authorization header must be 'Bearer <mtor token>'", type="authentication_error",
                       code="unauthenticated")
    return token.strip() or None


def router(cfg: GatewaySection, link: Callable[[], RealmLink]) -> APIRouter:
    api = APIRouter(prefix="/v1")

    async def complete(request: Request, body: ChatBody | CompletionBody, shape: answers.Shape) -> Response:
        submission = await Submission.open(link(), bearer(request), body.intent())
        if body.stream:
            return answers.streamed(submission, body, shape, cfg.sse_keepalive_s)
        try:
            return await answers.unless_disconnected(request, answers.whole(submission, body, shape))
        finally:
            submission.abandon()  # the handler was cancelled, or the stream broke: nothing runs on unseen

    @api.get("/models")
    async def models(request: Request) -> dict[str, Any]:
        return await list_models(link(), bearer(request))

    @api.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await complete(request, parse(await read_body(request), ChatBody), answers.CHAT)

    @api.post("/completions")
    async def completions(request: Request) -> Response:
        return await complete(request, parse(await read_body(request), CompletionBody), answers.COMPLETION)

    @api.post("/embeddings")
    async def create_embeddings(request: Request) -> Response:
        body = embeddings.parse(await read_body(request))
        submission = await Submission.open(link(), bearer(request), embeddings.intent(body))
        try:
            return await answers.unless_disconnected(request, embeddings.answer(submission, body))
        finally:
            submission.abandon()  # the caller left, or the call broke: nothing runs on unseen

    from . import audio, images  # here: they use this module's bearer and read_body
    audio.add_routes(api, link)
    images.add_routes(api, link)
    return api
