"""The OpenAI-compatible API (/v1) of `mtor gateway`, through the official `openai` SDK, against a real realm,
echo worker and gateway. One cluster serves the module (each start costs seconds); tests that change the
realm (quotas, pools) use their own users or names."""
from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import time
import urllib.error
import urllib.request
from typing import Iterator

import grpc
import openai
import pytest
from conftest import Cluster, echo_stack
from harness import SYSOP_TOKEN, Gateway, Realm, openai_client, wait_until
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc
from mtor_client.admin import Pool
from tiny.gguf import build_tiny_llama_gguf

KEEPALIVE_S = 0.4
"""The stack's gateway says ': mtor waiting' this often while a stream has no news (15 s by default)."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    with echo_stack(tmp_path_factory.mktemp("openai"), {"MTOR_GATEWAY_SSE_KEEPALIVE_S": str(KEEPALIVE_S)}) as stack:
        yield stack


@pytest.fixture
def realm(stack: tuple[Realm, Gateway]) -> Realm:
    return stack[0]


@pytest.fixture
def gateway(stack: tuple[Realm, Gateway]) -> Gateway:
    return stack[1]


client = openai_client


def http(gateway: Gateway, method: str, path: str, body: bytes | None = None,
         token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP call, for what the SDK would not send."""
    request = urllib.request.Request(gateway.url + path, data=body, method=method,
                                     headers={"content-type": "application/json"} |
                                     ({"authorization": f"Bearer {token}"} if token else {}))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def assert_error_shape(raw: bytes) -> dict:
    error = json.loads(raw)["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["code"], str) and isinstance(error["type"], str)
    return error


def still_serving(gateway: Gateway) -> None:
    answer = client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "again"}])
    assert answer.choices[0].message.content == "echo: again"


def intent(realm: Realm, intent_id: str) -> intents_pb2.IntentInfo:
    """The intent as the realm records it (the sysop's own intents: the SDK calls here use its token)."""
    with realm.channel() as channel:
        return intents_pb2_grpc.IntentsStub(channel).Get(
            intents_pb2.GetRequest(intent_id=intent_id), metadata=(("authorization", f"Bearer {SYSOP_TOKEN}"),),
            timeout=5).intent


def intent_state(realm: Realm, intent_id: str) -> int:
    return intent(realm, intent_id).state


# ------------------------------------------------------------------------------------------------ answers --

def test_a_chat_completion_with_the_sync_sdk(gateway):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}],
        max_tokens=50, temperature=0.2)
    answer = raw.parse()
    assert raw.headers["x-mtor-intent-id"] and answer.id == "chatcmpl-" + raw.headers["x-mtor-intent-id"]
    assert answer.object == "chat.completion" and answer.model == "echo"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == "echo: hello world"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.completion_tokens == 3 and answer.usage.prompt_tokens == 4  # echo counts prompt words
    assert answer.usage.total_tokens == 7


def test_a_streamed_chat_completion_with_the_sync_sdk_and_usage(gateway):
    stream = client(gateway).chat.completions.create(
        model="", messages=[{"role": "user", "content": "one two three"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert chunks[-1].usage.prompt_tokens == 3 and chunks[-1].usage.total_tokens == 7
    assert all(c.usage is None for c in chunks[:-1])


def test_the_stream_is_framed_as_openai_frames_it_with_mtor_news_as_comments(gateway):
    """Sent with no Authorization header: the realm's anonymous user, which it allows on loopback."""
    body = json.dumps({"model": "", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
    status, headers, raw = http(gateway, "POST", "/v1/chat/completions", body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = raw.decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    comments = [e for e in events if e.startswith(":")]
    assert comments[0] == f": mtor accepted {headers['x-mtor-intent-id']} queue_position 0"
    assert any(e.startswith(": mtor started worker w1 realm ") for e in comments)
    data = [json.loads(e.removeprefix("data: ")) for e in events[:-2] if e.startswith("data: ")]
    assert "".join(d["choices"][0]["delta"].get("content", "") for d in data) == "echo: hi"
    assert "usage" not in data[0]  # asked for no usage: none, as OpenAI


def test_a_stream_that_waits_says_where_it_is_in_the_queue(gateway):
    busy = [{"model": "", "messages": [{"role": "user", "content": "!sleep 1.5"}]} for _ in range(4)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # the worker's four slots, taken
        taken = [pool.submit(client(gateway).chat.completions.create, **b) for b in busy]
        time.sleep(0.5)
        body = json.dumps({"model": "", "messages": [{"role": "user", "content": "waited"}], "stream": True})
        status, _, raw = http(gateway, "POST", "/v1/chat/completions", body.encode())
        assert all(t.result().choices[0].message.content == "echo: !sleep 1.5" for t in taken)
    comments = [e for e in raw.decode().split("\n\n") if e.startswith(":")]
    assert status == 200 and comments[0].endswith("queue_position 1"), comments
    assert ": mtor waiting" in comments and any(c.startswith(": mtor started worker w1") for c in comments)


def test_a_stream_without_news_keeps_its_connection_alive(gateway):
    body = json.dumps({"model": "", "messages": [{"role": "user", "content": "!sleep 1.3"}], "stream": True})
    status, _, raw = http(gateway, "POST", "/v1/chat/completions", body.encode())
    events = raw.decode().split("\n\n")
    assert status == 200 and events.count(": mtor waiting") >= 2, events
    data = [json.loads(e.removeprefix("data: ")) for e in events if e.startswith("data: {")]
    assert "".join(d["choices"][0]["delta"].get("content", "") for d in data) == "echo: !sleep 1.3"
    assert events[-2] == "data: [DONE]"


def test_the_async_sdk_streamed_and_not(gateway):
    async def go() -> tuple[str, str, str | None]:
        async with openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=SYSOP_TOKEN, max_retries=0) as ai:
            whole = await ai.chat.completions.create(model="", messages=[{"role": "user", "content": "async"}])
            stream = await ai.chat.completions.create(model="", messages=[{"role": "user", "content": "streamed"}],
                                                      stream=True)
            parts, reason = [], None
            async for chunk in stream:
                parts.append(chunk.choices[0].delta.content or "")
                reason = chunk.choices[0].finish_reason or reason
            return whole.choices[0].message.content, "".join(parts), reason

    assert asyncio.run(go()) == ("echo: async", "echo: streamed", "stop")


def test_many_async_streams_at_once(gateway):
    async def one(ai: openai.AsyncOpenAI, i: int) -> str:
        stream = await ai.chat.completions.create(model="", messages=[{"role": "user", "content": f"n{i}"}],
                                                  stream=True)
        return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])

    async def go() -> list[str]:
        async with openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=SYSOP_TOKEN, max_retries=0) as ai:
            return await asyncio.gather(*(one(ai, i) for i in range(16)))

    assert asyncio.run(go()) == [f"echo: n{i}" for i in range(16)]


def test_finish_reason_is_length_when_max_tokens_cut_the_answer(gateway):
    ai = client(gateway)
    answer = ai.chat.completions.create(model="", messages=[{"role": "user", "content": "a b c d e"}],
                                        max_completion_tokens=3)
    assert answer.choices[0].message.content == "echo: a b "
    assert answer.choices[0].finish_reason == "length" and answer.usage.completion_tokens == 3
    chunks = list(ai.chat.completions.create(model="", messages=[{"role": "user", "content": "a b c d e"}],
                                             max_tokens=2, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: a "
    assert chunks[-1].choices[0].finish_reason == "length"
    exact = ai.chat.completions.create(model="", messages=[{"role": "user", "content": "a b"}], max_tokens=3)
    assert exact.choices[0].finish_reason == "stop"  # the whole answer fit: the backend says so


def test_text_completions_streamed_and_not(gateway):
    ai = client(gateway)
    answer = ai.completions.create(model="", prompt="say this", max_tokens=20)
    assert answer.object == "text_completion" and answer.id.startswith("cmpl-")
    assert answer.choices[0].text == "echo: say this" and answer.choices[0].finish_reason == "stop"
    chunks = list(ai.completions.create(model="", prompt="stream this", stream=True,
                                        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: stream this"
    assert chunks[-1].usage.completion_tokens == 3


def test_models_lists_pool_aliases_for_a_sysop_only(realm, gateway):
    with realm.admin() as admin:
        admin.set_pool(Pool(name="fast", kind="chat", workers=("w1",)))
    listed = client(gateway).models.list()
    assert listed.object == "list"
    fast = next(m for m in listed.data if m.id == "$fast")
    assert fast.object == "model" and fast.owned_by and fast.created > 0
    user = realm.new_user("lister")
    assert "$fast" not in [m.id for m in client(gateway, user).models.list().data]
    answer = client(gateway).chat.completions.create(model="$fast", messages=[{"role": "user", "content": "pooled"}])
    assert answer.choices[0].message.content == "echo: pooled"


# ------------------------------------------------------------------------------------------------- errors --

def test_an_unknown_route_and_a_wrong_method_answer_in_openai_shape(gateway):
    status, _, raw = http(gateway, "GET", "/v1/nothing-here")
    assert status == 404 and assert_error_shape(raw)["code"] == "not_found"
    status, _, raw = http(gateway, "GET", "/v1/chat/completions")
    assert status == 405 and assert_error_shape(raw)["code"] == "method_not_allowed"
    with pytest.raises(openai.NotFoundError):  # a route MTOR does not serve, through the SDK
        client(gateway).moderations.create(input="x")
    still_serving(gateway)


@pytest.mark.parametrize("body, param, code", [
    (b"{not json", None, "invalid_json"),
    (b"[1, 2]", None, "invalid_json"),
    (b'{"messages": []}', "messages", "invalid_request"),
    (b'{"messages": [{"role": "user", "content": "x"}], "temperature": 9}', "temperature", "invalid_request"),
    (b'{"messages": [{"role": "tool", "content": "x"}]}', "messages.0.role", "invalid_request"),
    (b'{"messages": [{"role": "user", "content": "x"}], "frobnicate": 1}', "frobnicate", "unknown_parameter"),
])
def test_bad_bodies_get_400_naming_what_is_wrong(gateway, body, param, code):
    status, _, raw = http(gateway, "POST", "/v1/chat/completions", body)
    error = assert_error_shape(raw)
    assert status == 400 and error["param"] == param and error["code"] == code, error
    still_serving(gateway)


def test_a_body_over_the_limit_is_413(gateway):
    status, _, raw = http(gateway, "POST", "/v1/completions", b'{"prompt": "' + b"x" * (16 << 20) + b'"}')
    assert status == 413 and assert_error_shape(raw)["code"] == "body_too_large"
    still_serving(gateway)


@pytest.mark.parametrize("param, value", [
    ("n", 2), ("logprobs", True), ("top_logprobs", 2), ("presence_penalty", 1.0),
    ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
    ("response_format", {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}),
])
def test_parameters_mtor_cannot_honour_are_refused_by_name(gateway, param, value):
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "x"}],
                                                **{param: value})
    assert e.value.status_code == 400 and e.value.body["param"] == param
    assert e.value.body["code"] == "unsupported_parameter" and param in e.value.body["message"]
    still_serving(gateway)


def test_their_neutral_values_are_accepted(gateway):
    answer = client(gateway).chat.completions.create(
        model="", messages=[{"role": "user", "content": "x"}], n=1, logprobs=False, top_p=1, user="someone",
        response_format={"type": "text"}, presence_penalty=0)
    assert answer.choices[0].message.content == "echo: x"


@pytest.mark.parametrize("param, value", [("top_p", 0), ("top_p", 1.5), ("seed", 2**63), ("seed", "x")])
def test_top_p_and_seed_out_of_range_are_400_naming_them(gateway, param, value):
    with pytest.raises(openai.BadRequestError) as e:
        client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "x"}],
                                                **{param: value})
    assert e.value.body["param"] == param and e.value.body["code"] == "invalid_request"
    answer = client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "x"}],
                                                     top_p=0.5, seed=-7)  # in range: honoured (echo ignores them)
    assert answer.choices[0].message.content == "echo: x"


def test_a_wrong_token_is_401_and_a_failed_intent_its_status(gateway):
    with pytest.raises(openai.AuthenticationError) as e:
        client(gateway, "mtor_not-a-token").chat.completions.create(
            model="", messages=[{"role": "user", "content": "x"}])
    assert e.value.body["code"] == "unauthenticated"
    with pytest.raises(openai.InternalServerError) as e:
        client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "!fail"}])
    assert e.value.status_code == 500 and "asked to fail" in e.value.message
    with pytest.raises(openai.APIError, match="asked to fail"):
        list(client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "!fail"}],
                                                     stream=True))
    still_serving(gateway)


def test_a_user_over_quota_gets_429_with_retry_after(realm, gateway):
    token = realm.new_user("hasty")
    with realm.admin() as admin:
        admin.set_quota("hasty", requests_per_minute=1)
    ai = client(gateway, token)
    ai.chat.completions.create(model="", messages=[{"role": "user", "content": "first"}])
    for stream in (False, True):
        with pytest.raises(openai.RateLimitError) as e:
            ai.chat.completions.create(model="", messages=[{"role": "user", "content": "second"}], stream=stream)
        assert int(e.value.response.headers["retry-after"]) >= 1
        assert e.value.body["code"] == "resource_exhausted"
    still_serving(gateway)


# ---------------------------------------------------------------------------------------------- leaving --

def test_a_client_leaving_mid_stream_cancels_its_intent(realm, gateway):
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="", messages=[{"role": "user", "content": "!sleep 3"}], stream=True)
    intent_id = raw.headers["x-mtor-intent-id"]
    stream = raw.parse()
    next(iter(stream))  # the role chunk: the intent runs
    assert intent_state(realm, intent_id) in (intent_pb2.INTENT_STATE_QUEUED, intent_pb2.INTENT_STATE_RUNNING)
    stream.close()
    wait_until(lambda: intent_state(realm, intent_id) == intent_pb2.INTENT_STATE_CANCELLED, 2.5,
               what="the intent cancelled")
    still_serving(gateway)


def test_a_client_giving_up_on_a_whole_answer_cancels_its_intent(realm, gateway):
    token = realm.new_user("impatient")
    with pytest.raises(openai.APITimeoutError):
        client(gateway, token).with_options(timeout=1.0).chat.completions.create(
            model="", messages=[{"role": "user", "content": "!sleep 3"}])
    def running() -> list[str]:
        with realm.admin() as admin:
            return [e.intent.intent_id for e in admin.queue() if e.user == "impatient"]

    wait_until(lambda: not running(), 1.5, what="the intent cancelled, not running on")
    still_serving(gateway)


def test_a_realm_that_does_not_answer_is_503(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        gateway = cluster.gateway("127.0.0.1:9")  # the discard port: nothing listens there
        with pytest.raises(openai.InternalServerError) as e:
            client(gateway).chat.completions.create(model="", messages=[{"role": "user", "content": "x"}])
        assert e.value.status_code == 503 and e.value.body["code"] == "unavailable"
        status, _, raw = http(gateway, "GET", "/v1/models")
        assert status == 503 and assert_error_shape(raw)["code"] == "unavailable"
    finally:
        cluster.stop()


def test_a_llama_worker_says_why_it_stopped_and_names_its_model(tmp_path):
    """The real llama.cpp backend on a tiny random-weight model: finish_reason comes from llama.cpp itself."""
    model = build_tiny_llama_gguf(tmp_path / "tiny-llama.gguf")
    cluster = Cluster(tmp_path / "llama")
    try:
        realm = cluster.realm()
        cluster.worker(realm, "tiny", backends="llama", env={"MTOR_LLAMA_THREADS": "1",
                                                             "MTOR_LLAMA_MODEL": str(model)})
        ai = client(cluster.gateway(realm))
        listed = {m.id: m for m in ai.models.list().data}
        assert list(listed) == ["tiny-llama"] and "chat" in listed["tiny-llama"].mtor_kinds  # (and embed)
        raw = ai.chat.completions.with_raw_response.create(
            model="tiny-llama", messages=[{"role": "user", "content": "Say it."}], max_tokens=3, temperature=0)
        cut = raw.parse()
        assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 3
        assert cut.model == "tiny-llama"
        recorded = intent(realm, raw.headers["x-mtor-intent-id"]).result.text
        assert recorded.finish_reason == intent_pb2.FINISH_REASON_LENGTH  # llama.cpp's word, not a guess
        assert 0 < cut.usage.prompt_tokens == recorded.prompt_tokens  # the templated prompt, as llama.cpp read it
        assert cut.usage.total_tokens == cut.usage.prompt_tokens + 3

        def sampled(**kwargs) -> str:
            return ai.chat.completions.create(model="tiny-llama", messages=[{"role": "user", "content": "Say it."}],
                                              max_tokens=8, **kwargs).choices[0].message.content

        # seed reaches llama.cpp: the same seed samples the same answer; top_p does too: so small a nucleus
        # holds only the likeliest token, so any seed at temperature 1 answers what greedy decoding does
        assert sampled(temperature=1.0, seed=1) == sampled(temperature=1.0, seed=1) != sampled(temperature=1.0, seed=2)
        greedy = sampled(temperature=0)
        assert sampled(temperature=1.0, top_p=1e-6, seed=1) == sampled(temperature=1.0, top_p=1e-6, seed=2) == greedy
    finally:
        cluster.stop()


def test_grpc_codes_map_to_http_statuses_in_one_table():
    from mtor_client.errors import retry_after_s

    from gateway_ws.openai_api.errors import from_code, from_number
    expected = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.UNAUTHENTICATED: 401,
                grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404,
                grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.UNAVAILABLE: 503,
                grpc.StatusCode.DEADLINE_EXCEEDED: 504, grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNKNOWN: 500}
    assert {code: from_code(code, "x").status for code in expected} == expected
    trailer = retry_after_s([("retry-after", "2.200")])  # as the realm sends it
    assert from_code(grpc.StatusCode.RESOURCE_EXHAUSTED, "x", trailer).headers == {"Retry-After": "3"}
    assert from_number(4, "slow").status == 504 and from_number(4, "slow").code == "deadline_exceeded"


# ------------------------------------------------------------------------------------------------ vision --

PICTURE = b"\x89PNG\r\n\x1a\n" + b"\0" * 56  # echo counts the bytes; the realm wants some
PICTURE_URL = "data:image/png;base64," + base64.b64encode(PICTURE).decode()


def _asking(url: str = PICTURE_URL, question: str = "what is this?") -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": question},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


def test_a_picture_in_a_user_message_is_a_vision_intent_whole_and_streamed(gateway):
    answer = client(gateway).chat.completions.create(model="", messages=_asking())
    assert answer.choices[0].message.content == f"echo: what is this? ({len(PICTURE)} bytes of image)"
    stream = client(gateway).chat.completions.create(model="", messages=_asking(question="and now?"), stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"echo: and now? ({len(PICTURE)} bytes of image)"


@pytest.mark.parametrize("messages, extra, param", [
    (_asking("https://example.org/cat.png"), {}, "messages.0.content.1.image_url.url"),
    (_asking("data:image/png;base64,@@@"), {}, "messages.0.content.1.image_url.url"),
    ([{"role": "system", "content": "be brief"}, *_asking()], {}, "messages"),
    ([{"role": "user", "content": [*_asking()[0]["content"], {"type": "image_url",
                                                                 "image_url": {"url": PICTURE_URL}}]}], {}, "messages"),
    (_asking(), {"temperature": 0.5}, "temperature"),
])
def test_a_picture_mtor_cannot_take_is_a_400_naming_what(gateway, messages, extra, param):
    with pytest.raises(openai.BadRequestError) as refused:
        client(gateway).chat.completions.create(model="", messages=messages, **extra)
    assert refused.value.status_code == 400 and refused.value.body["param"] == param, refused.value.body
    still_serving(gateway)
