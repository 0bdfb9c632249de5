"""The client's calling logic against a scripted in-process Intents service.

Not a realm: each Submit/Watch call plays a script of events and aborts, so
re-attaching, resubmitting, deadlines and error mapping can be checked
exactly, for both Client and AsyncClient.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from mtor_client import (
    Accepted,
    AsyncClient,
    Client,
    DeadlineExceeded,
    Finished,
    Internal,
    InvalidArgument,
    NotFound,
    TextResult,
    Unavailable,
)
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc, realm_pb2, realm_pb2_grpc

ID = "in-1"
Step = intent_pb2.IntentEvent | tuple[grpc.StatusCode, str]
UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, "realm restarting")


def ev(seq: int, **payload: Any) -> intent_pb2.IntentEvent:
    return intent_pb2.IntentEvent(intent_id=ID, seq=seq, **payload)


def accepted(seq: int = 1) -> intent_pb2.IntentEvent:
    return ev(seq, accepted=intent_pb2.Accepted(intent_id=ID, queue_position=2))


def text(seq: int, chunk: str) -> intent_pb2.IntentEvent:
    return ev(seq, delta=intent_pb2.Delta(text=chunk))


def done(seq: int, answer: str) -> intent_pb2.IntentEvent:
    return ev(
        seq,
        result=intent_pb2.IntentResult(
            kind=intent_pb2.KIND_CHAT,
            text=intent_pb2.TextOutput(text=answer, tokens=2),
            worker="w1",
            realm="r1",
        ),
    )


class ScriptedRealm(intents_pb2_grpc.IntentsServicer):
    """Plays one script per Submit/Watch call; with none left, aborts UNAVAILABLE."""

    def __init__(self) -> None:
        self.submits: list[list[Step]] = []
        self.watches: list[list[Step]] = []
        self.calls: list[tuple[str, Any, dict[str, str]]] = []

    def _play(self, name: str, scripts: list[list[Step]], request: Any, context: Any) -> Iterator[Any]:
        self.calls.append((name, request, dict(context.invocation_metadata())))
        for step in scripts.pop(0) if scripts else [UNAVAILABLE]:
            if isinstance(step, tuple):
                context.abort(*step)
            yield step

    def Submit(self, request, context):
        yield from self._play("Submit", self.submits, request, context)

    def Watch(self, request, context):
        yield from self._play("Watch", self.watches, request, context)

    def Get(self, request, context):
        if request.intent_id != ID:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no intent with id {request.intent_id!r}")
        return intents_pb2.GetResponse(
            intent=intents_pb2.IntentInfo(
                intent_id=ID, kind=intent_pb2.KIND_CHAT, state=intent_pb2.INTENT_STATE_RUNNING, attempts=1
            )
        )

    def Cancel(self, request, context):
        return intents_pb2.CancelResponse(state=intent_pb2.INTENT_STATE_CANCELLED)

    def Notices(self, request, context):
        for i in range(3):
            yield intents_pb2.Notice(level=intents_pb2.NOTICE_LEVEL_WARNING, text=f"n{i}", realm="r1")


class FixedRealmInfo(realm_pb2_grpc.RealmInfoServicer):
    def Describe(self, request, context):
        return realm_pb2.DescribeResponse(
            name="lab", kinds=[realm_pb2.KindCapacity(kind=intent_pb2.KIND_CHAT, workers=1, free_slots=4)]
        )


@pytest.fixture
def realm() -> Iterator[tuple[ScriptedRealm, str]]:
    servicer = ScriptedRealm()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    intents_pb2_grpc.add_IntentsServicer_to_server(servicer, server)
    realm_pb2_grpc.add_RealmInfoServicer_to_server(FixedRealmInfo(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def test_chat_returns_result_and_reports_events(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), text(2, "hel"), text(3, "lo"), done(4, "hello")])
    seen = []
    with Client(target, token="s3cret") as client:
        result = client.chat("hi", model="m", on_event=seen.append)
    assert isinstance(result, TextResult)
    assert (result.text, result.intent_id, result.worker) == ("hello", ID, "w1")
    assert [e.seq for e in seen] == [1, 2, 3, 4]
    assert isinstance(seen[0], Accepted) and isinstance(seen[-1], Finished)
    name, request, metadata = servicer.calls[0]
    assert metadata["authorization"] == "Bearer s3cret"
    assert request.intent.chat.prompt == "hi" and request.intent.model == "m"
    assert len(request.intent.request_id) == 32  # generated, so a resubmit is safe


def test_reattaches_with_watch_after_accepted(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), text(2, "a"), UNAVAILABLE])
    servicer.watches.append([UNAVAILABLE])  # still down on the first try
    servicer.watches.append([text(2, "a"), text(3, "b"), done(4, "ab")])  # replays seq 2 again
    seen = []
    with Client(target) as client:
        result = client.chat("hi", on_event=seen.append, timeout=10)
    assert result.text == "ab"
    assert [e.seq for e in seen] == [1, 2, 3, 4]  # the repeat of seq 2 is dropped
    watches = [c[1] for c in servicer.calls if c[0] == "Watch"]
    assert [(w.intent_id, w.after_seq) for w in watches] == [(ID, 2), (ID, 2)]


def test_resubmits_with_same_request_id_before_accepted(realm):
    servicer, target = realm
    servicer.submits.append([UNAVAILABLE])
    servicer.submits.append([accepted(), done(2, "ok")])
    with Client(target) as client:
        assert client.chat("hi", request_id="mine").text == "ok"
    ids = [c[1].intent.request_id for c in servicer.calls]
    assert ids == ["mine", "mine"]


def test_failed_event_raises_subclass_with_intent_id(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), ev(2, failed=intent_pb2.Error(code=4, message="no worker"))])
    with Client(target) as client, pytest.raises(DeadlineExceeded) as info:
        client.chat("hi")
    assert info.value.intent_id == ID
    assert str(info.value) == "DEADLINE_EXCEEDED: no worker"


def test_rejection_is_not_retried(realm):
    servicer, target = realm
    servicer.submits.append([(grpc.StatusCode.INVALID_ARGUMENT, "chat.prompt: empty")])
    with Client(target) as client, pytest.raises(InvalidArgument, match="chat.prompt"):
        client.chat("")
    assert len(servicer.calls) == 1


def test_timeout_while_realm_stays_down(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), UNAVAILABLE])
    start = time.monotonic()
    with Client(target) as client, pytest.raises(DeadlineExceeded) as info:
        client.chat("hi", timeout=0.8)
    assert time.monotonic() - start < 3
    assert info.value.intent_id == ID
    assert sum(c[0] == "Watch" for c in servicer.calls) >= 2


def test_wrong_kind_of_result_is_an_error(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), done(2, "text, not a picture")])
    with Client(target) as client, pytest.raises(Internal, match="ImageResult"):
        client.imagine("a fox")


def test_chat_stream_yields_chunks_then_result(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), text(2, "a"), UNAVAILABLE])
    servicer.watches.append([text(3, "b"), done(4, "ab")])
    with Client(target) as client:
        stream = client.chat_stream("hi")
        with pytest.raises(RuntimeError):
            stream.result
        assert list(stream) == ["a", "b"]
    assert stream.result.text == "ab" and stream.intent_id == ID


def test_raw_submit_and_unary_calls(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), done(2, "x")])
    from mtor_client import _convert

    with Client(target) as client:
        events = list(client.submit(_convert.chat_request("hi")))
        assert [type(e).__name__ for e in events] == ["Accepted", "Finished"]
        info = client.get(ID)
        assert (info.state, info.kind, info.attempts) == ("running", "chat", 1)
        with pytest.raises(NotFound, match="NOT_FOUND: no intent with id 'nope'") as err:
            client.get("nope")
        assert err.value.intent_id == "nope"
        assert client.cancel(ID) == "cancelled"
        assert [n.text for n in client.notices()] == ["n0", "n1", "n2"]
        described = client.describe()
        assert described.name == "lab" and described.kinds[0].kind == "chat"
        assert described.kinds[0].free_slots == 4 and described.kinds[0].models == ()
        servicer.submits.append([(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full")])
        with pytest.raises(Exception) as raw_err:
            list(client.submit(_convert.chat_request("hi")))
        assert not isinstance(raw_err.value, grpc.RpcError)


def test_wait_follows_an_existing_intent(realm):
    servicer, target = realm
    servicer.watches.append([accepted(), text(2, "z"), UNAVAILABLE])
    servicer.watches.append([done(3, "z")])
    with Client(target) as client:
        assert client.wait(ID, timeout=5).text == "z"
    assert [c[1].after_seq for c in servicer.calls] == [0, 2]


def test_unreachable_realm_raises_unavailable_at_the_timeout():
    start = time.monotonic()
    with Client("127.0.0.1:1") as client, pytest.raises(Unavailable) as info:
        client.chat("hi", timeout=0.5)  # retried until the timeout, then the real cause
    assert 0.4 < time.monotonic() - start < 3
    assert not isinstance(info.value, grpc.RpcError) and info.value.intent_id is None
    with Client("127.0.0.1:1") as client, pytest.raises(Unavailable):
        client.describe(timeout=2)


def test_async_client_same_behaviour(realm):
    servicer, target = realm
    servicer.submits.append([accepted(), text(2, "a"), UNAVAILABLE])
    servicer.watches.append([text(3, "b"), done(4, "ab")])
    servicer.submits.append([accepted(), text(2, "c"), done(3, "c")])
    servicer.submits.append([accepted(), ev(2, failed=intent_pb2.Error(code=5, message="gone"))])

    async def main() -> None:
        seen: list[Any] = []

        async def on_event(e: Any) -> None:  # coroutine callbacks are awaited
            seen.append(e)

        async with AsyncClient(target, token="t") as client:
            result = await client.chat("hi", on_event=on_event, timeout=10)
            assert result.text == "ab" and [e.seq for e in seen] == [1, 2, 3, 4]
            stream = client.chat_stream(messages=[("user", "hi")])
            assert [chunk async for chunk in stream] == ["c"]
            assert stream.result.text == "c" and stream.intent_id == ID
            with pytest.raises(NotFound) as info:
                await client.chat("hi")
            assert info.value.intent_id == ID
            assert (await client.get(ID)).state == "running"
            assert await client.cancel(ID) == "cancelled"
            assert (await client.describe()).kinds[0].workers == 1
            assert [n.level async for n in client.notices()] == ["warning"] * 3
            with pytest.raises(Unavailable):  # no script left: the raw watch does not retry
                [e async for e in client.watch(ID)]

    asyncio.run(main())
    assert servicer.calls[0][2]["authorization"] == "Bearer t"


def test_backoff_doubles_to_two_seconds_and_resets_on_progress():
    from mtor_client._follow import Follow

    follow = Follow(timeout=None, intent_id=ID)
    down = Unavailable("restarting")
    assert [follow.retry_after(down) for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert follow.take(text(5, "x")) is not None and follow.last_seq == 5
    assert follow.take(text(5, "x")) is None  # a replayed event is dropped
    assert follow.retry_after(down) == 0.1
    with pytest.raises(NotFound) as info:
        follow.retry_after(NotFound("expired"))
    assert info.value.intent_id == ID
