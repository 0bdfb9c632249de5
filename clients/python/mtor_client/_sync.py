"""The blocking client, on sync gRPC.

Mirrors AsyncClient method for method; both build requests and read events
through _convert and follow intents through _follow, so only the waiting
differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import closing
from types import TracebackType
from typing import Any

import grpc

from mtor_client import _convert as conv
from mtor_client._channel import TLS, resolve, sync_channel
from mtor_client._follow import Follow, new_request_id
from mtor_client._proto.mtor.v1 import (
    account_pb2,
    account_pb2_grpc,
    intent_pb2,
    intents_pb2,
    intents_pb2_grpc,
    realm_pb2,
    realm_pb2_grpc,
)
from mtor_client._stream import ChatStream
from mtor_client.account import UsageReport, usage_from_proto
from mtor_client.errors import error_from_rpc
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

OnEvent = Callable[[Event], None]
Messages = Iterable[ChatMessage | Mapping[str, str] | tuple[str, str]]


class Client:
    """A connection to one realm. Thread-safe; close it (or use `with`) when done.

    target defaults to $MTOR_REALM, else 127.0.0.1:7070; token to $MTOR_TOKEN.
    tls (a TLS) turns TLS on with its CA and client certificate; a grpcs://
    target alone uses TLS with the system's roots.
    timeout is the default for every call that does not give its own, in
    seconds, covering the whole call including reconnects.
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
        self._endpoint = resolve(target, token, options, tls)
        self._timeout = timeout
        self._channel = sync_channel(self._endpoint)
        self._stub = intents_pb2_grpc.IntentsStub(self._channel)
        self._realm_stub = realm_pb2_grpc.RealmInfoStub(self._channel)
        self._account_stub = account_pb2_grpc.AccountStub(self._channel)

    @property
    def target(self) -> str:
        """The realm address this client talks to."""
        return self._endpoint.address

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _timeout_for(self, timeout: float | None) -> float | None:
        return self._timeout if timeout is None else timeout

    # ------------------------------------------------------------ raw streams --

    def submit(
        self, request: intent_pb2.IntentRequest, *, timeout: float | None = None
    ) -> Iterator[Event]:
        """Events of one Submit call, as they come; no reconnecting."""
        return self._events(
            self._stub.Submit, intents_pb2.SubmitRequest(intent=request), timeout, None
        )

    def watch(
        self, intent_id: str, after_seq: int = 0, *, timeout: float | None = None
    ) -> Iterator[Event]:
        """Events of one Watch call: the replay after `after_seq`, then live to the end."""
        request = intents_pb2.WatchRequest(intent_id=intent_id, after_seq=after_seq)
        return self._events(self._stub.Watch, request, timeout, intent_id)

    def _events(
        self, method: Any, request: Any, timeout: float | None, intent_id: str | None
    ) -> Iterator[Event]:
        try:
            call = method(
                request, timeout=self._timeout_for(timeout), metadata=self._endpoint.metadata
            )
            try:
                for msg in call:
                    event = conv.event_from_proto(msg)
                    if event is not None:
                        intent_id = intent_id or event.intent_id or None
                        yield event
            finally:
                call.cancel()
        except grpc.RpcError as e:
            raise error_from_rpc(e, intent_id) from None

    def notices(self, *, timeout: float | None = None) -> Iterator[Notice]:
        """Realm notices, live, until you stop iterating (or `timeout`, if given)."""
        try:
            call = self._stub.Notices(
                intents_pb2.NoticesRequest(), timeout=timeout, metadata=self._endpoint.metadata
            )
            try:
                for msg in call:
                    yield conv.notice_from_proto(msg)
            finally:
                call.cancel()
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None

    # ------------------------------------------------------ following intents --

    def _follow(
        self,
        request: intent_pb2.IntentRequest | None,
        follow: Follow,
        on_event: OnEvent | None,
    ) -> Generator[Event, None, None]:
        """Every event of one intent exactly once, re-attaching after realm restarts."""
        md = self._endpoint.metadata
        while True:
            error = None
            try:
                if follow.watching:
                    call = self._stub.Watch(
                        intents_pb2.WatchRequest(
                            intent_id=follow.intent_id, after_seq=follow.last_seq
                        ),
                        timeout=follow.remaining(),
                        metadata=md,
                    )
                else:
                    call = self._stub.Submit(
                        intents_pb2.SubmitRequest(intent=request),
                        timeout=follow.remaining(),
                        metadata=md,
                    )
                try:
                    for msg in call:
                        event = follow.take(msg)
                        if event is None:
                            continue
                        if on_event is not None:
                            on_event(event)
                        yield event
                        if follow.done:
                            return
                finally:
                    call.cancel()
            except grpc.RpcError as e:
                error = error_from_rpc(e, follow.intent_id)
            time.sleep(follow.retry_after(error))

    def _run(
        self,
        request: intent_pb2.IntentRequest,
        timeout: float | None,
        on_event: OnEvent | None,
    ) -> Result:
        follow = Follow(timeout=self._timeout_for(timeout))
        return _outcome(self._follow(request, follow, on_event))

    def wait(
        self, intent_id: str, timeout: float | None = None, *, on_event: OnEvent | None = None
    ) -> Result:
        """The result of an intent submitted earlier; raises like the plain methods."""
        follow = Follow(timeout=self._timeout_for(timeout), intent_id=intent_id)
        return _outcome(self._follow(None, follow, on_event))

    # --------------------------------------------------------- plain methods --

    def chat(
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
        request = conv.chat_request(
            prompt,
            messages=messages,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
            top_p=top_p,
            seed=seed,
            request_id=request_id or new_request_id(),
        )
        return conv.expect_result(self._run(request, timeout, on_event), TextResult)

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
    ) -> ChatStream:
        """Like chat, but iterate the returned stream for text chunks as they come."""
        request = conv.chat_request(
            prompt,
            messages=messages,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
            top_p=top_p,
            seed=seed,
            request_id=request_id or new_request_id(),
        )
        follow = Follow(timeout=self._timeout_for(timeout))
        return ChatStream(self._follow(request, follow, on_event))

    def transcribe(
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
        request = conv.transcribe_request(
            audio,
            format=format,
            language=language,
            task=task,
            beam_size=beam_size,
            vad_filter=vad_filter,
            model=model,
            request_id=request_id or new_request_id(),
        )
        return conv.expect_result(self._run(request, timeout, on_event), TranscriptResult)

    def speak(
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
        request = conv.speak_request(
            text,
            voice=voice,
            text_temperature=text_temperature,
            waveform_temperature=waveform_temperature,
            speed=speed,
            model=model,
            request_id=request_id or new_request_id(),
        )
        return conv.expect_result(self._run(request, timeout, on_event), AudioResult)

    def imagine(
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
        request = conv.imagine_request(
            prompt,
            negative_prompt=negative_prompt,
            width=width,
            height=height,
            steps=steps,
            guidance=guidance,
            seed=seed,
            model=model,
            request_id=request_id or new_request_id(),
        )
        return conv.expect_result(self._run(request, timeout, on_event), ImageResult)

    def vision(
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
        request = conv.vision_request(
            image,
            prompt,
            max_tokens=max_tokens,
            model=model,
            request_id=request_id or new_request_id(),
        )
        return conv.expect_result(self._run(request, timeout, on_event), TextResult)

    def embed(
        self,
        texts: str | Iterable[str],
        *,
        model: str = "",
        timeout: float | None = None,
        request_id: str = "",
        on_event: OnEvent | None = None,
    ) -> EmbeddingsResult:
        """Embed one text or several: one vector per text, in order (`result.vectors`)."""
        request = conv.embed_request(texts, model=model, request_id=request_id or new_request_id())
        return conv.expect_result(self._run(request, timeout, on_event), EmbeddingsResult)

    def converse(
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
        request = conv.converse_request(
            audio,
            format=format,
            language=language,
            history=history,
            max_tokens=max_tokens,
            temperature=temperature,
            voice=voice,
            transcribe_model=transcribe_model,
            chat_model=chat_model,
            speak_model=speak_model,
            request_id=request_id or new_request_id(),
        )
        return conv.expect_result(self._run(request, timeout, on_event), ConversationResult)

    # ------------------------------------------------------------- unary calls --

    def cancel(self, intent_id: str, *, timeout: float | None = None) -> str:
        """Cancel a queued or running intent; its state afterwards ("cancelled" or how it ended)."""
        try:
            response = self._stub.Cancel(
                intents_pb2.CancelRequest(intent_id=intent_id),
                timeout=self._timeout_for(timeout),
                metadata=self._endpoint.metadata,
            )
        except grpc.RpcError as e:
            raise error_from_rpc(e, intent_id) from None
        return conv.state_name(response.state)

    def get(self, intent_id: str, *, timeout: float | None = None) -> IntentInfo:
        """What the realm knows about an intent, with its result once it succeeded."""
        try:
            response = self._stub.Get(
                intents_pb2.GetRequest(intent_id=intent_id),
                timeout=self._timeout_for(timeout),
                metadata=self._endpoint.metadata,
            )
        except grpc.RpcError as e:
            raise error_from_rpc(e, intent_id) from None
        return conv.info_from_proto(response.intent)

    def describe(self, *, timeout: float | None = None) -> RealmInfo:
        """The realm's name, version and what it can serve right now, per kind."""
        try:
            response = self._realm_stub.Describe(
                realm_pb2.DescribeRequest(),
                timeout=self._timeout_for(timeout),
                metadata=self._endpoint.metadata,
            )
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return conv.realm_info_from_proto(response)

    def whoami(self, *, timeout: float | None = None) -> str:
        """The user name the realm takes this client's token for ("anonymous" without one)."""
        try:
            response = self._account_stub.WhoAmI(
                account_pb2.WhoAmIRequest(), timeout=self._timeout_for(timeout), metadata=self._endpoint.metadata
            )
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return response.user

    def usage(self, *, timeout: float | None = None) -> UsageReport:
        """This user's usage (totals, per kind) and quota."""
        try:
            response = self._account_stub.Usage(
                account_pb2.UsageRequest(), timeout=self._timeout_for(timeout), metadata=self._endpoint.metadata
            )
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return usage_from_proto(response)


def _outcome(events: Generator[Event, None, None]) -> Result:
    """Drain a followed intent: its result, or its error raised."""
    with closing(events):
        for event in events:
            if isinstance(event, Finished):
                return event.result
            if isinstance(event, Failed):
                raise event.error
    raise AssertionError("intent stream ended without a terminal event")  # _follow never does
