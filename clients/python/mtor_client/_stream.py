"""What the sync and async clients do differently with a stream of events.

ChatStream and AsyncChatStream are chat_stream's text chunks: iterate for
chunks, then read `.result`. They wrap a followed intent's event stream, so
re-attaching after a realm restart is already handled underneath. notify and
async_notify hand each event to the caller's on_event callback. The clients
themselves are one source (_async.py, rewritten into _sync.py by
tools/unasync.py); these are the pairs it maps onto each other.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from types import TracebackType

from mtor_client._convert import expect_result
from mtor_client.types import Delta, Event, Failed, Finished, TextResult

OnEvent = Callable[[Event], None]
# The async clients' callback may be a plain function or a coroutine function.
AsyncOnEvent = Callable[[Event], None | Awaitable[None]]


def notify(on_event: OnEvent | None, event: Event) -> None:
    """Hand an event to the caller's callback, if any."""
    if on_event is not None:
        on_event(event)


async def async_notify(on_event: AsyncOnEvent | None, event: Event) -> None:
    """Hand an event to the caller's callback, if any, awaiting it when it returns an awaitable."""
    if on_event is not None:
        outcome = on_event(event)
        if inspect.isawaitable(outcome):
            await outcome


class _ChunkState:
    """What both stream flavours remember: the intent's id and, at the end, its result."""

    def __init__(self) -> None:
        self._intent_id: str | None = None
        self._result: TextResult | None = None

    @property
    def intent_id(self) -> str | None:
        """The intent's id once the realm accepted it; None before."""
        return self._intent_id

    @property
    def result(self) -> TextResult:
        """The whole answer with usage; available once iteration has ended."""
        if self._result is None:
            raise RuntimeError("the stream has not finished; iterate it to the end first")
        return self._result

    def _chunk(self, event: Event) -> str | None:
        """The text to hand out for an event, if any; records the end or raises a failure."""
        if self._intent_id is None and event.intent_id:
            self._intent_id = event.intent_id
        if isinstance(event, Finished):
            self._result = expect_result(event.result, TextResult)
        elif isinstance(event, Failed):
            raise event.error
        elif isinstance(event, Delta) and event.text:
            return event.text
        return None


class ChatStream(_ChunkState):
    """Text chunks of a chat as they are generated (sync)."""

    def __init__(self, events: Generator[Event, None, None]) -> None:
        super().__init__()
        self._events = events

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        for event in self._events:
            chunk = self._chunk(event)
            if chunk is not None:
                return chunk
        raise StopIteration

    def close(self) -> None:
        """Stop following (the intent itself keeps running; cancel it by id if needed)."""
        self._events.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncChatStream(_ChunkState):
    """Text chunks of a chat as they are generated (async)."""

    def __init__(self, events: AsyncGenerator[Event, None]) -> None:
        super().__init__()
        self._events = events

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> str:
        async for event in self._events:
            chunk = self._chunk(event)
            if chunk is not None:
                return chunk
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop following (the intent itself keeps running; cancel it by id if needed)."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
