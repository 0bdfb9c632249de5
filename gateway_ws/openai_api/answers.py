"""A chat intent's events as an OpenAI answer: one JSON body, or server-sent events.

Chat completions and text completions differ only in object names and where the text goes (`Shape`);
the event handling, finish_reason, usage and cancellation are shared.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from mtor_client._proto.mtor.v1 import intent_pb2
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from ..link import RealmLink
from .errors import ApiError, from_number
from .params import CommonBody
from .submission import Submission

INTENT_HEADER = "x-mtor-intent-id"
T = TypeVar("T")
_SEP = "\n"
"""Line ends as OpenAI sends them (sse-starlette's default is CRLF)."""


@dataclass(frozen=True)
class Shape:
    """What differs between /v1/chat/completions and /v1/completions."""
    object: str
    chunk_object: str
    id_prefix: str
    chat: bool

    def choice(self, text: str, finish_reason: str | None) -> dict[str, Any]:
        """The one choice of a whole answer."""
        if self.chat:
            return {"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None, "finish_reason": finish_reason}
        return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}

    def delta(self, text: str | None, finish_reason: str | None = None, first: bool = False) -> dict[str, Any]:
        """The one choice of a streamed chunk; chat's first chunk carries the role, as OpenAI's does."""
        if self.chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
            if text is not None:
                delta["content"] = text
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish_reason}


CHAT = Shape("chat.completion", "chat.completion.chunk", "chatcmpl-", chat=True)
COMPLETION = Shape("text_completion", "text_completion", "cmpl-", chat=False)


def finish_reason(output: intent_pb2.TextOutput, limit: int | None) -> str:
    """The backend's own reason; where it gives none (UNSPECIFIED), "length" when the answer used the whole
    token limit, else "stop"."""
    if output.finish_reason == intent_pb2.FINISH_REASON_LENGTH:
        return "length"
    if output.finish_reason == intent_pb2.FINISH_REASON_STOP:
        return "stop"
    return "length" if limit and output.tokens >= limit else "stop"


def usage(output: intent_pb2.TextOutput) -> dict[str, int]:
    """Tokens as the backend counted them (0 where it does not count them)."""
    return {"prompt_tokens": output.prompt_tokens, "completion_tokens": output.tokens,
            "total_tokens": output.prompt_tokens + output.tokens}


async def outcome(submission: Submission) -> intent_pb2.IntentResult:
    """The intent's result, once it comes; a failed intent raises its status as an ApiError."""
    result: intent_pb2.IntentResult | None = None
    async for event in submission.events():
        if event.HasField("failed"):
            raise from_number(event.failed.code, event.failed.message)
        if event.HasField("result"):
            result = event.result
    if result is None:
        raise ApiError(502, "the realm ended the intent's stream without an outcome", type="server_error",
                       code="bad_gateway")
    return result


def mtor_headers(submission: Submission, result: intent_pb2.IntentResult) -> dict[str, str]:
    """What MTOR adds to a whole answer: the intent, and the worker and realm that served it."""
    return {INTENT_HEADER: submission.intent_id, "x-mtor-worker": result.worker, "x-mtor-realm": result.realm}


async def result_for(request: Request, link: RealmLink, token: str | None,
                     intent: intent_pb2.IntentRequest) -> tuple[Submission, intent_pb2.IntentResult]:
    """Submit `intent` and wait for its result (a whole answer); a client that leaves first cancels it."""
    submission = await Submission.open(link, token, intent)
    try:
        return submission, await unless_disconnected(request, outcome(submission))
    finally:
        submission.abandon()  # a no-op once the intent has ended


async def whole(submission: Submission, body: CommonBody, shape: Shape) -> JSONResponse:
    """Wait for the result; a failed intent answers with its status."""
    result = await outcome(submission)
    output = result.text
    choice = shape.choice(output.text, finish_reason(output, body.limit))
    answer = {"id": shape.id_prefix + submission.intent_id, "object": shape.object, "created": int(time.time()),
              "model": result.model or body.model, "choices": [choice], "usage": usage(output),
              "system_fingerprint": None}
    return JSONResponse(answer, headers=mtor_headers(submission, result))


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """`work`, cancelled if the client disconnects first. Starlette notices a client that leaves a streamed
    answer, not one that gives up waiting for a whole one; this watches for it (the body has been read, so
    the next ASGI message can only be the disconnect)."""
    answer = asyncio.ensure_future(work)

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    gone = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # this request's own task cancelled (the server stops)
        answer.cancel()
        raise
    finally:
        gone.cancel()
    if answer.done():
        return answer.result()
    answer.cancel()
    raise ApiError(499, "the client closed the request", type="cancelled", code="client_closed")


class _IntentStream(EventSourceResponse):
    """A streamed answer (sse-starlette frames the events and sends `: mtor waiting` every `keepalive_s`, so
    that proxies keep a queued intent's quiet connection) that cancels its intent however it ends early: the
    client left, the server stops, or the client was gone before the first byte (the body never starts, so a
    `finally` inside it would never run)."""

    def __init__(self, submission: Submission, body: CommonBody, shape: Shape, keepalive_s: float) -> None:
        super().__init__(_events(submission, body, shape), headers={INTENT_HEADER: submission.intent_id},
                         sep=_SEP, ping=keepalive_s or None, ping_message_factory=lambda: _comment("waiting"))
        self.submission = submission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.submission.abandon()  # a no-op once the intent has ended


def streamed(submission: Submission, body: CommonBody, shape: Shape, keepalive_s: float) -> EventSourceResponse:
    return _IntentStream(submission, body, shape, keepalive_s)


def _data(payload: dict[str, Any] | str) -> ServerSentEvent:
    return ServerSentEvent(payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":")),
                           sep=_SEP)


def _comment(text: str) -> ServerSentEvent:
    """MTOR's progress, as SSE comment lines: every SSE client skips them, so OpenAI clients are unaffected.
    One line always: a line break in a worker's words (a retry reason) would start a field of its own."""
    return ServerSentEvent(comment=f"mtor {' '.join(text.splitlines())}", sep=_SEP)


async def _events(submission: Submission, body: CommonBody, shape: Shape) -> AsyncIterator[ServerSentEvent]:
    """The intent as SSE: OpenAI's chunks and `data: [DONE]`, with MTOR's queue and worker news as comments."""
    base = {"id": shape.id_prefix + submission.intent_id, "object": shape.chunk_object,
            "created": int(time.time()), "model": body.model, "system_fingerprint": None}
    extra = {"usage": None} if body.include_usage else {}

    def chunk(choice: dict[str, Any] | None) -> ServerSentEvent:
        return _data({**base, "choices": [choice] if choice else [], **extra})

    try:
        yield _comment(f"accepted {submission.intent_id} queue_position {submission.accepted.accepted.queue_position}")
        if shape.chat:
            yield chunk(shape.delta(None, first=True))
        async for event in submission.events():
            which = event.WhichOneof("event")
            if which == "queued":
                yield _comment(f"queued {event.queued.queue_position} of {event.queued.queue_depth}")
            elif which == "started":
                s = event.started
                yield _comment(f"started worker {s.worker} realm {s.realm} attempt {s.attempt}")
            elif which == "retrying":
                yield _comment(f"retrying attempt {event.retrying.attempt}: {event.retrying.reason}")
            elif which == "delta" and event.delta.text:
                yield chunk(shape.delta(event.delta.text))
            elif which == "failed":
                yield _data(from_number(event.failed.code, event.failed.message).body())
                return
            elif which == "result":
                output = event.result.text
                base["model"] = event.result.model or body.model
                yield chunk(shape.delta(None, finish_reason(output, body.limit)))
                if body.include_usage:
                    yield _data({**base, "choices": [], "usage": usage(output)})
                yield _data("[DONE]")
    except ApiError as e:  # the call to the realm broke mid-stream: say so in the stream, as OpenAI does
        yield _data(e.body())
