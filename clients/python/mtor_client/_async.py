"""The asyncio client, on grpc.aio.

This file is also the source of the blocking client: tools/unasync.py
rewrites it into _sync.py (`make unasync`), so edit this one only. Both
build requests and read events through _convert, follow intents through
_follow, and differ only where _channel (Connection, AsyncConnection) and
_stream (ChatStream, notify and their async twins) differ. Streaming methods
(submit, watch, notices, chat_stream) are plain methods returning async
iterators; everything else is awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import grpc

from mtor_client import _convert as conv
from mtor_client._channel import TLS, AsyncConnection, Stubs, resolve
from mtor_client._follow import Follow, request_from_args
from mtor_client._proto.mtor.v1 import account_pb2, intent_pb2, intents_pb2, realm_pb2
from mtor_client._stream import AsyncChatStream, async_notify
from mtor_client._stream import AsyncOnEvent as OnEvent
from mtor_client.account import UsageReport, usage_from_proto
from mtor_client.errors import MtorError, error_from_rpc
from mtor_client.types import (
    AudioResult,
    ChatMessage,
    ConversationResult,
    EmbeddingsResult,
    Event,
    Failed,
    Finished,
    ImageResult,
    IntentInfo,
    Notice,
    RealmInfo,
    Result,
    TextResult,
    TranscriptResult,
)

Messages = Iterable[ChatMessage | Mapping[str, str] | tuple[str, str]]


class AsyncClient:
    """A connection to one realm, for asyncio. Close it (or use `async with`) when done.

    target defaults to $MTOR_REALM, else 127.0.0.1:7070; token to $MTOR_TOKEN.
    tls (a TLS) turns TLS on with its CA and client certificate; a grpcs://
    target alone uses TLS with the system's roots.
    timeout is the default for every call that does not give its own, in
    seconds, covering the whole call including reconnects. The channel opens
    on first use, in the running event loop; use the client from that loop only.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        token: str | None = None,
        timeout: float | None = None,
        options: list[tuple[str, Any]] | None = None,
        tls: TLS | None = None,
    ) -> None:
        self._conn = AsyncConnection(resolve(target, token, options, tls))
        self._timeout = timeout

    @property
    def target(self) -> str:
        """The realm address this client talks to."""
        return self._conn.endpoint.address

    @property
    def _stubs(self) -> Stubs:
        return self._conn.stubs()

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _timeout_for(self, timeout: float | None) -> float | None:
        return self._timeout if timeout is None else timeout

    # ------------------------------------------------------------ the calls --

    async def _call(self, rpc: Any, request: Any, timeout: float | None, intent_id: str | None = None) -> Any:
        """The response of one unary call; gRPC errors come out as MtorError."""
        try:
            return await rpc(request, timeout=self._timeout_for(timeout), metadata=self._conn.endpoint.metadata)
        except grpc.RpcError as e:
            raise error_from_rpc(e, intent_id) from None

    async def _stream(
        self,
        method: str,
        request: Any,
        timeout: float | None,
        convert: Callable[[Any], Any],
        intent_id: str | None = None,
        errors: list[MtorError] | None = None,
    ) -> AsyncGenerator[Any, None]:
        """`convert` of each message of one Intents stream, skipping None.

        A gRPC error ends it as an MtorError naming the intent (`intent_id`,
        else the one its items name): raised, or appended to `errors` when given.
        """
        try:
            call = getattr(self._stubs.intents, method)(
                request, timeout=timeout, metadata=self._conn.endpoint.metadata
            )
            try:
                async for msg in call:
                    item = convert(msg)
                    if item is not None:
                        intent_id = intent_id or getattr(item, "intent_id", "") or None
                        yield item
            finally:
                call.cancel()
        except grpc.RpcError as e:
            error = error_from_rpc(e, intent_id)
            if errors is None:
                raise error from None
            errors.append(error)

    # ------------------------------------------------------------ raw streams --

    def submit(
        self, request: intent_pb2.IntentRequest, *, timeout: float | None = None
    ) -> AsyncIterator[Event]:
        """Events of one Submit call, as they come; no reconnecting."""
        request = intents_pb2.SubmitRequest(intent=request)
        return self._stream("Submit", request, self._timeout_for(timeout), conv.event_from_proto)

    def watch(
        self, intent_id: str, after_seq: int = 0, *, timeout: float | None = None
    ) -> AsyncIterator[Event]:
        """Events of one Watch call: the replay after `after_seq`, then live to the end."""
        request = intents_pb2.WatchRequest(intent_id=intent_id, after_seq=after_seq)
        return self._stream("Watch", request, self._timeout_for(timeout), conv.event_from_proto, intent_id)

    def notices(self, *, timeout: float | None = None) -> AsyncGenerator[Notice, None]:
        """Realm notices, live, until you stop iterating (or `timeout`, if given)."""
        return self._stream("Notices", intents_pb2.NoticesRequest(), timeout, conv.notice_from_proto)

    # ------------------------------------------------------ following intents --

    async def _follow(
        self,
        request: intent_pb2.IntentRequest | None,
        follow: Follow,
        on_event: OnEvent | None,
    ) -> AsyncGenerator[Event, None]:
        """Every event of one intent exactly once, re-attaching after realm restarts."""
        while True:
            if follow.watching:
                attempt = intents_pb2.WatchRequest(intent_id=follow.intent_id, after_seq=follow.last_seq)
                method = "Watch"
            else:
                attempt = intents_pb2.SubmitRequest(intent=request)
                method = "Submit"
            errors: list[MtorError] = []
            events = self._stream(method, attempt, follow.remaining(), follow.take, follow.intent_id, errors)
            try:
                async for event in events:
                    await async_notify(on_event, event)
                    yield event
                    if follow.done:
                        return
            finally:
                await events.aclose()
            await asyncio.sleep(follow.retry_after(errors[0] if errors else None))

    async def _run(
        self,
        request: intent_pb2.IntentRequest,
        timeout: float | None,
        on_event: OnEvent | None,
    ) -> Result:
        follow = Follow(timeout=self._timeout_for(timeout))
        return await _outcome(self._follow(request, follow, on_event))

    async def _kind(
        self, build: Callable[..., intent_pb2.IntentRequest], args: Mapping[str, Any], result: type[conv.KindResult]
    ) -> conv.KindResult:
        """Submit the intent a plain method's arguments describe; its result, of the method's kind."""
        outcome = await self._run(request_from_args(build, args), args["timeout"], args["on_event"])
        return conv.expect_result(outcome, result)

    async def wait(
        self, intent_id: str, timeout: float | None = None, *, on_event: OnEvent | None = None
    ) -> Result:
        """The result of an intent submitted earlier; raises like the plain methods."""
        follow = Follow(timeout=self._timeout_for(timeout), intent_id=intent_id)
        return await _outcome(self._follow(None, follow, on_event))

    # --------------------------------------------------------- plain methods --
    # Each passes its own arguments (locals()) to its kind's builder in _convert.

    async def chat(
        self,
        prompt: str | None = None,
        *,
        messages: Messages | None = None,
        model: str = "",
        max_tokens: int = 0,
        temperature: float | None = None,
        stop: Iterable[str] | str = (),
        top_p: float | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> TextResult:
        """Generate text from a prompt or a conversation."""
        return await self._kind(conv.chat_request, locals(), TextResult)

    def chat_stream(
        self,
        prompt: str | None = None,
        *,
        messages: Messages | None = None,
        model: str = "",
        max_tokens: int = 0,
        temperature: float | None = None,
        stop: Iterable[str] | str = (),
        top_p: float | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> AsyncChatStream:
        """Like chat, but `async for` over the returned stream for text chunks as they come."""
        request = request_from_args(conv.chat_request, locals())
        follow = Follow(timeout=self._timeout_for(timeout))
        return AsyncChatStream(self._follow(request, follow, on_event))

    async def transcribe(
        self,
        audio: bytes,
        *,
        format: str = "",
        language: str = "",
        task: str = "transcribe",
        beam_size: int = 0,
        vad_filter: bool | None = None,
        model: str = "",
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> TranscriptResult:
        """Speech to text; format "" lets the worker sniff the bytes."""
        return await self._kind(conv.transcribe_request, locals(), TranscriptResult)

    async def speak(
        self,
        text: str,
        *,
        voice: str = "",
        text_temperature: float | None = None,
        waveform_temperature: float | None = None,
        speed: float | None = None,
        model: str = "",
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> AudioResult:
        """Text to speech, as a WAV file."""
        return await self._kind(conv.speak_request, locals(), AudioResult)

    async def imagine(
        self,
        prompt: str,
        *,
        negative_prompt: str = "",
        width: int = 0,
        height: int = 0,
        steps: int = 0,
        guidance: float | None = None,
        seed: int | None = None,
        model: str = "",
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> ImageResult:
        """Text to image, as a PNG file."""
        return await self._kind(conv.imagine_request, locals(), ImageResult)

    async def vision(
        self,
        image: bytes,
        prompt: str = "",
        *,
        model: str = "",
        max_tokens: int = 0,
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> TextResult:
        """Ask about a picture (PNG, JPEG or WebP bytes)."""
        return await self._kind(conv.vision_request, locals(), TextResult)

    async def embed(
        self,
        texts: str | Iterable[str],
        *,
        model: str = "",
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> EmbeddingsResult:
        """Embed one text or several: one vector per text, in order (`result.vectors`)."""
        return await self._kind(conv.embed_request, locals(), EmbeddingsResult)

    async def converse(
        self,
        audio: bytes,
        *,
        format: str = "",
        language: str = "",
        history: Messages = (),
        max_tokens: int = 0,
        temperature: float | None = None,
        voice: str = "",
        transcribe_model: str = "",
        chat_model: str = "",
        speak_model: str = "",
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> ConversationResult:
        """Ask aloud, hear the answer: the realm transcribes, chats and speaks, each on its own worker.

        Progress arrives as Delta events whose `stage` names the step: the transcript once heard,
        the answer as it is generated, then the speech's progress.
        """
        return await self._kind(conv.converse_request, locals(), ConversationResult)

    # ------------------------------------------------------------- unary calls --

    async def cancel(self, intent_id: str, *, timeout: float | None = None) -> str:
        """Cancel a queued or running intent; its state afterwards ("cancelled" or how it ended)."""
        request = intents_pb2.CancelRequest(intent_id=intent_id)
        response = await self._call(self._stubs.intents.Cancel, request, timeout, intent_id)
        return conv.state_name(response.state)

    async def get(self, intent_id: str, *, timeout: float | None = None) -> IntentInfo:
        """What the realm knows about an intent, with its result once it succeeded."""
        request = intents_pb2.GetRequest(intent_id=intent_id)
        response = await self._call(self._stubs.intents.Get, request, timeout, intent_id)
        return conv.info_from_proto(response.intent)

    async def describe(self, *, timeout: float | None = None) -> RealmInfo:
        """The realm's name, version and what it can serve right now, per kind."""
        response = await self._call(self._stubs.realm.Describe, realm_pb2.DescribeRequest(), timeout)
        return conv.realm_info_from_proto(response)

    async def whoami(self, *, timeout: float | None = None) -> str:
        """The user name the realm takes this client's token for ("anonymous" without one)."""
        response = await self._call(self._stubs.account.WhoAmI, account_pb2.WhoAmIRequest(), timeout)
        return response.user

    async def usage(self, *, timeout: float | None = None) -> UsageReport:
        """This user's usage (totals, per kind) and quota."""
        response = await self._call(self._stubs.account.Usage, account_pb2.UsageRequest(), timeout)
        return usage_from_proto(response)


async def _outcome(events: AsyncGenerator[Event, None]) -> Result:
    """Drain a followed intent: its result, or its error raised."""
    try:
        async for event in events:
            if isinstance(event, Finished):
                return event.result
            if isinstance(event, Failed):
                raise event.error
    finally:
        await events.aclose()
    raise AssertionError("intent stream ended without a terminal event")  # _follow never does
