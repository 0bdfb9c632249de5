"""The WebSocket bridge (/ws, gateway_ws/PROTOCOL.md) with a real `websockets` client, in front of a real realm, echo
worker and gateway."""
from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest
from conftest import Cluster
from harness import SYSOP_TOKEN, Gateway, Realm
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc
from mtor_client.errors import retry_after_s
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway_ws.bridge.outbox import Outbox

ALLOWED = "https://app.example.org"
MAX_CALLS = 8
MAX_FRAME = 64 * 1024


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    """One realm, one echo worker running one intent at a time (so that a second one queues), one gateway."""
    cluster = Cluster(Path(tmp_path_factory.mktemp("bridge")))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "w1", delay=0.02, concurrency=1)
        gateway = cluster.gateway(realm, {"MTOR_GATEWAY_ORIGINS": ALLOWED,
                                          "MTOR_GATEWAY_MAX_CALLS_PER_SOCKET": str(MAX_CALLS),
                                          "MTOR_GATEWAY_MAX_FRAME_BYTES": str(MAX_FRAME),
                                          "MTOR_GATEWAY_CALL_QUEUE_DEPTH": "2"})
        yield realm, gateway
        assert gateway.proc.terminate() == 0 and "Traceback" not in gateway.proc.output(), gateway.proc.output()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def user_token(setup: tuple[Realm, Gateway]) -> str:
    return setup[0].new_user("ada")


def ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://", 1) + "/ws"


def open_ws(gateway: Gateway, token: str | None = None, **kwargs: Any) -> connect:
    protocols = ["mtor.v1", f"mtor.bearer.{token}"] if token else None
    return connect(ws_url(gateway), subprotocols=protocols, open_timeout=10, **kwargs)


def chat(prompt: str) -> dict:
    return {"intent": {"chat": {"prompt": prompt}}}


async def send(ws: ClientConnection, frame: Any) -> None:
    await ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))


async def recv(ws: ClientConnection, timeout: float = 20.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until_done(ws: ClientConnection, *ids: Any, timeout: float = 20.0) -> dict[Any, list[dict]]:
    """Every frame for `ids` until each got its end (or error) frame; a frame for any other id fails the test."""
    frames: dict[Any, list[dict]] = {i: [] for i in ids}
    waiting = set(ids)
    async with asyncio.timeout(timeout):
        while waiting:
            frame = await recv(ws)
            frames[frame["id"]].append(frame)
            if "end" in frame or "error" in frame:
                waiting.discard(frame["id"])
    return frames


async def call(ws: ClientConnection, call_id: Any, method: str, request: dict | None = None) -> list[dict]:
    await send(ws, {"id": call_id, "method": method, "request": request or {}})
    return (await until_done(ws, call_id))[call_id]


async def first_event(ws: ClientConnection, call_id: Any, event: str) -> dict:
    """Frames for `call_id` up to its first `event` message."""
    while True:
        frame = await recv(ws)
        assert frame["id"] == call_id and "end" not in frame, frame
        if event in frame["message"]:
            return frame["message"]


async def intent_state(ws: ClientConnection, intent_id: str) -> str:
    frames = await call(ws, "get", "mtor.v1.Intents/Get", {"intentId": intent_id})
    assert frames[-1] == {"id": "get", "end": {"code": "OK"}}, frames
    return frames[0]["message"]["intent"]["state"]


async def settles(ws: ClientConnection, intent_id: str, state: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while (now := await intent_state(ws, intent_id)) != state:
            assert now in ("INTENT_STATE_QUEUED", "INTENT_STATE_RUNNING"), now
            await asyncio.sleep(0.05)


def events(frames: list[dict]) -> list[str]:
    return [next(k for k in f["message"] if k in ("accepted", "queued", "started", "delta", "result", "failed"))
            for f in frames if "message" in f]


def test_submit_streams_its_queue_position_then_its_answer(setup, user_token):
    _, gateway = setup

    async def scenario() -> None:
        async with open_ws(gateway, user_token) as ws:
            assert ws.subprotocol == "mtor.v1"
            await send(ws, {"id": 1, "method": "mtor.v1.Intents/Submit", "request": chat("!sleep 1.5 first")})
            await first_event(ws, 1, "started")  # the worker is busy with it
            await send(ws, {"id": 2, "method": "mtor.v1.Intents/Submit", "request": chat("second")})
            frames = await until_done(ws, 1, 2)
        second = frames[2]
        accepted = second[0]["message"]
        assert accepted["accepted"]["queuePosition"] == 1 and accepted["intentId"] == accepted["accepted"]["intentId"]
        assert accepted["seq"] == "1"  # uint64 in canonical JSON: a string
        kinds = events(second)
        assert kinds[0] == "accepted" and kinds[-1] == "result" and "started" in kinds
        assert kinds.index("started") < kinds.index("delta")
        result = second[-2]["message"]["result"]
        assert result["text"]["text"] == "echo: second"
        deltas = [f["message"]["delta"] for f in second if "delta" in f.get("message", {})]
        assert "".join(d.get("text", "") for d in deltas) == "echo: second"
        assert second[-1] == {"id": 2, "end": {"code": "OK"}}
        assert frames[1][-1] == {"id": 1, "end": {"code": "OK"}}
        assert frames[1][-2]["message"]["result"]["text"]["text"] == "echo: !sleep 1.5 first"

    asyncio.run(scenario())


def test_many_calls_at_once_on_one_socket_and_the_token_in_an_auth_frame(setup, user_token):
    _, gateway = setup
    audio = b"RIFF\0\0\0\0WAVE" + bytes(range(256)) * 4

    async def scenario() -> None:
        async with open_ws(gateway) as ws:
            assert ws.subprotocol is None
            anonymous = await call(ws, 0, "mtor.v1.Account/WhoAmI")
            await send(ws, {"auth": user_token})
            await send(ws, {"id": "who", "method": "mtor.v1.Account/WhoAmI"})
            await send(ws, {"id": "realm", "method": "mtor.v1.RealmInfo/Describe", "request": {}})
            for i in range(3):
                await send(ws, {"id": 10 + i, "method": "mtor.v1.Intents/Submit",
                                "request": chat(f"call {i} " + "word " * 30)})
            await send(ws, {"id": "audio", "method": "mtor.v1.Intents/Submit",  # proto field names work too
                            "request": {"intent": {"transcribe": {"audio": base64.b64encode(audio).decode(),
                                                                  "format": "AUDIO_FORMAT_WAV"}}}})
            await asyncio.sleep(1.0)  # read nothing for a while: each call's queue (2 deep) fills, its realm waits
            frames = await until_done(ws, "who", "realm", 10, 11, 12, "audio", timeout=30)
        assert anonymous[0]["message"] == {"user": "anonymous"}
        assert frames["who"][0]["message"] == {"user": "ada"}
        assert "KIND_CHAT" in {k["kind"] for k in frames["realm"][0]["message"]["kinds"]}
        for i in range(3):
            answer = frames[10 + i]
            assert answer[-1] == {"id": 10 + i, "end": {"code": "OK"}}
            assert answer[-2]["message"]["result"]["text"]["text"] == f"echo: call {i} " + "word " * 30
        assert frames["audio"][-2]["message"]["result"]["transcript"]["text"] == f"echo: {len(audio)} bytes of audio"
        assert all(f[-1]["end"]["code"] == "OK" for f in frames.values())

    asyncio.run(scenario())


def test_cancel_ends_the_call_and_with_intent_cancels_the_intent(setup, user_token):
    _, gateway = setup

    async def scenario() -> None:
        async with open_ws(gateway, user_token) as ws:
            # the call only: the intent goes on in the realm
            await send(ws, {"id": 1, "method": "mtor.v1.Intents/Submit", "request": chat("!sleep 30 call only")})
            kept = (await first_event(ws, 1, "accepted"))["intentId"]
            await send(ws, {"id": 1, "cancel": True})
            assert (await until_done(ws, 1))[1][-1]["end"]["code"] == "CANCELLED"
            assert await intent_state(ws, kept) in ("INTENT_STATE_QUEUED", "INTENT_STATE_RUNNING")
            # re-attached with Watch, which can cancel it too
            await send(ws, {"id": 2, "method": "mtor.v1.Intents/Watch", "request": {"intentId": kept}})
            await first_event(ws, 2, "accepted")
            await send(ws, {"id": 2, "cancel": True, "intent": True})
            watched = (await until_done(ws, 2))[2]
            assert watched[-1] == {"id": 2, "end": {"code": "OK"}} and "failed" in watched[-2]["message"]
            assert (await call(ws, 4, "mtor.v1.Intents/Cancel", {"intent_id": kept}))[0]["message"] == \
                {"state": "INTENT_STATE_CANCELLED"}  # proto field names accepted; already cancelled
            # the intent too: the call goes on to the intent's end, so the caller sees how it ended
            await send(ws, {"id": 3, "method": "mtor.v1.Intents/Submit", "request": chat("!sleep 30 cancel me")})
            cancelled = (await first_event(ws, 3, "accepted"))["intentId"]
            await send(ws, {"id": 3, "cancel": True, "intent": True})
            frames = (await until_done(ws, 3))[3]
            assert frames[-1] == {"id": 3, "end": {"code": "OK"}}
            assert frames[-2]["message"]["failed"]["code"] == grpc.StatusCode.CANCELLED.value[0]
            assert await intent_state(ws, cancelled) == "INTENT_STATE_CANCELLED"

    asyncio.run(scenario())


def test_a_closed_socket_cancels_the_intents_it_submitted(setup, user_token):
    _, gateway = setup

    async def scenario() -> None:
        async with open_ws(gateway, user_token) as ws:
            await send(ws, {"id": 1, "method": "mtor.v1.Intents/Submit", "request": chat("!sleep 30 running")})
            running = (await first_event(ws, 1, "started"))["intentId"]
            await send(ws, {"id": 2, "method": "mtor.v1.Intents/Submit", "request": chat("queued")})
            queued = (await first_event(ws, 2, "accepted"))["intentId"]
            await send(ws, {"id": 3, "method": "mtor.v1.Intents/Notices"})
        async with open_ws(gateway, user_token) as ws:
            await settles(ws, running, "INTENT_STATE_CANCELLED")
            await settles(ws, queued, "INTENT_STATE_CANCELLED")

    asyncio.run(scenario())


def test_a_gateway_that_stops_closes_its_sockets_and_so_cancels_their_intents(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    gateway = cluster.gateway(realm)

    async def scenario() -> str:
        async with open_ws(gateway) as ws:
            await send(ws, {"id": 1, "method": "mtor.v1.Intents/Submit", "request": chat("!sleep 30 running")})
            running = (await first_event(ws, 1, "started"))["intentId"]
            assert await asyncio.to_thread(gateway.proc.terminate) == 0
            with pytest.raises(ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd.code == 1012  # service restart: come back later
            return running

    running = asyncio.run(scenario())
    with realm.channel() as channel:
        state = intents_pb2_grpc.IntentsStub(channel).Get(intents_pb2.GetRequest(intent_id=running)).intent.state
    assert state == intent_pb2.INTENT_STATE_CANCELLED
    assert "Traceback" not in gateway.proc.output()


def test_admin_works_for_a_sysop_and_is_denied_to_a_user(setup, user_token):
    _, gateway = setup

    async def scenario() -> None:
        async with open_ws(gateway, SYSOP_TOKEN) as ws:
            sysop = await call(ws, 1, "mtor.v1.Admin/ListUsers")
        async with open_ws(gateway, user_token) as ws:
            user = await call(ws, 1, "mtor.v1.Admin/ListUsers")
        assert "ada" in {u["name"] for u in sysop[0]["message"]["users"]} and sysop[-1]["end"] == {"code": "OK"}
        assert user == [{"id": 1, "end": {"code": "PERMISSION_DENIED", "message": "ada is not a sysop"}}]

    asyncio.run(scenario())


def test_an_origin_outside_the_allow_list_is_refused_before_the_upgrade(setup):
    _, gateway = setup

    async def scenario() -> None:
        for origin in ("https://evil.example", "null", gateway.url.replace("127.0.0.1", "localhost")):
            with pytest.raises(InvalidStatus) as refused:
                async with open_ws(gateway, origin=origin):
                    pass
            assert refused.value.response.status_code == 403
        for origin in (gateway.url, ALLOWED, None):  # its own, one of gateway.origins, none (not a browser)
            async with open_ws(gateway, origin=origin) as ws:
                assert (await call(ws, 1, "mtor.v1.Account/WhoAmI"))[-1]["end"] == {"code": "OK"}

    asyncio.run(scenario())


BAD = [
    ("not json", None, "frame is not JSON"),
    ("[1, 2]", None, "frame must be a JSON object, not list"),
    ("[" * 50_000, None, "frame is nested too deeply"),
    ({"method": "mtor.v1.Account/WhoAmI"}, None, "id must be an integer or a string"),
    ({"id": True, "method": "mtor.v1.Account/WhoAmI"}, None, "id must be an integer or a string"),
    ({"id": -1, "method": "mtor.v1.Account/WhoAmI"}, None, "id must be an integer from 0"),
    ({"id": 5}, 5, 'frame must be a call ("method")'),
    ({"id": 5, "method": "mtor.v1.Account/WhoAmI", "extra": 1}, 5, "unknown keys in a call frame: extra"),
    ({"id": 5, "method": "mtor.v1.Nope/Call"}, 5, "unknown method mtor.v1.Nope/Call"),
    ({"id": 5, "method": "mtor.v1.WorkerLink/Connect"}, 5, "unknown method mtor.v1.WorkerLink/Connect"),
    ({"id": 5, "method": "mtor.v1.Intents/Nope"}, 5, "mtor.v1.Intents has no method Nope"),
    ({"id": 5, "method": "Submit"}, 5, 'method must be a string "package.Service/Method"'),
    ({"id": 5, "method": "mtor.v1.Intents/Get", "request": {"bogus": 1}}, 5, "request of mtor.v1.Intents/Get does "
     'not parse: Message type "mtor.v1.GetRequest" has no field named "bogus"'),
    ({"id": 5, "method": "mtor.v1.Intents/Get", "request": {"intentId": 7}}, 5, "does not parse"),
    ({"id": 5, "method": "mtor.v1.Intents/Submit", "request": {"intent": {"transcribe": {"audio": "*not base64*"}}}},
     5, "does not parse"),
    ({"id": 5, "method": "mtor.v1.Intents/Get", "request": [1]}, 5, "must be a JSON object, not list"),
    ({"id": 5, "cancel": True}, 5, "no call 5 is open"),
    ({"id": 5, "cancel": "yes"}, 5, 'a cancel frame is {"id": ID, "cancel": true}'),
    ({"auth": ""}, None, 'an auth frame is {"auth": "<token>"}'),
    (b"\x00binary", None, "binary frames are not part of the protocol"),
]


def test_bad_frames_get_an_error_frame_and_the_socket_and_its_calls_go_on(setup, user_token):
    _, gateway = setup

    async def scenario() -> None:
        async with open_ws(gateway, user_token) as ws:
            await send(ws, {"id": "n", "method": "mtor.v1.Intents/Notices"})  # open until cancelled
            for frame, call_id, message in BAD:
                await send(ws, frame)
                got = await recv(ws)
                assert got["id"] == call_id and message in got["error"]["message"], (frame, got)
                assert got["error"]["code"] in ("INVALID_ARGUMENT", "NOT_FOUND"), got
            await send(ws, {"id": "n", "method": "mtor.v1.Account/WhoAmI"})
            assert (await recv(ws))["error"]["code"] == "ALREADY_EXISTS"
            await send(ws, {"id": "n", "cancel": True, "intent": True})
            assert "follows no intent" in (await recv(ws))["error"]["message"]
            for i in range(1, MAX_CALLS):
                await send(ws, {"id": i, "method": "mtor.v1.Intents/Notices"})
            await send(ws, {"id": 99, "method": "mtor.v1.Account/WhoAmI"})
            assert (await recv(ws)) == {"id": 99, "error": {"code": "RESOURCE_EXHAUSTED", "message": (
                f"{MAX_CALLS} calls are open on this socket, the most it may have (gateway.max_calls_per_socket); "
                "wait for one to end")}}
            for i in ("n", *range(1, MAX_CALLS)):
                await send(ws, {"id": i, "cancel": True})
            ended = await until_done(ws, "n", *range(1, MAX_CALLS))
            assert all(f == [{"id": i, "end": {"code": "CANCELLED", "message": "cancelled by the caller"}}]
                       for i, f in ended.items())
            assert (await call(ws, "n", "mtor.v1.Account/WhoAmI"))[0]["message"] == {"user": "ada"}  # id free again
            await send(ws, "x" * (MAX_FRAME + 1))  # too large: the socket closes (1009)
            with pytest.raises(ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd.code == 1009
        async with open_ws(gateway, user_token) as ws:  # the next caller is served
            assert (await call(ws, 1, "mtor.v1.Account/WhoAmI"))[0]["message"] == {"user": "ada"}

    asyncio.run(scenario())


def test_retry_after_comes_from_the_realms_trailer():
    assert retry_after_s(grpc.aio.Metadata(("retry-after", "1.500"))) == 1.5
    assert retry_after_s(grpc.aio.Metadata(("other", "x"))) is None
    assert retry_after_s(None) is None


def test_a_full_lane_holds_its_producer_until_the_writer_has_sent():
    async def scenario() -> None:
        outbox, sent, gate = Outbox(), [], asyncio.Event()

        async def send_slowly(text: str) -> None:
            await gate.wait()
            sent.append(json.loads(text))

        slow, other = outbox.lane(2), outbox.lane(2)
        producer = asyncio.create_task(asyncio.wait_for(asyncio.gather(*(slow.put({"n": n}) for n in range(4))), 5))
        writer = asyncio.create_task(outbox.run(send_slowly))
        await asyncio.sleep(0.05)
        assert not producer.done()  # 2 queued, 1 taken by the blocked writer, the 4th waits for room
        await other.put({"n": "other"})  # another lane is not held up by it
        gate.set()
        await producer
        await asyncio.sleep(0.05)
        assert [f["n"] for f in sent if f["n"] != "other"] == [0, 1, 2, 3] and len(sent) == 5
        slow.drop()
        await slow.put({"n": "dropped"})  # a dropped lane (the socket closed) takes and sends nothing
        await asyncio.sleep(0.05)
        assert len(sent) == 5
        writer.cancel()

    asyncio.run(scenario())
