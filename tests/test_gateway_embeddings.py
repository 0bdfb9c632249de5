"""The embed kind end to end: POST /v1/embeddings through the official `openai` SDK (sync and async, float and
base64) and the mtor_client SDK, against a real realm, echo worker and gateway; then a real embedding from the
starter model (SmolLM2 in llama.cpp's embedding mode), through the gateway and the SDK."""
from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import urllib.error
import urllib.request
from typing import Iterator

import grpc
import openai
import pytest
from conftest import Cluster, echo_stack
from harness import SYSOP_TOKEN, Gateway, Realm, openai_client, wait_until
from mtor_client import AsyncClient, Client, EmbeddingsResult, InvalidArgument
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc

from mtor_worker.backends.echo import EMBED_DIMENSIONS, embed_vector

TEXTS = ["The cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply today."]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    with echo_stack(tmp_path_factory.mktemp("embeddings")) as stack:
        yield stack


@pytest.fixture
def realm(stack: tuple[Realm, Gateway]) -> Realm:
    return stack[0]


@pytest.fixture
def gateway(stack: tuple[Realm, Gateway]) -> Gateway:
    return stack[1]


client = openai_client


def post(gateway: Gateway, body: object, raw: bytes | None = None) -> tuple[int, dict]:
    """A raw POST /v1/embeddings, for what the SDK would not send; (status, JSON answer)."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(gateway.url + "/v1/embeddings", data=data, method="POST",
                                     headers={"content-type": "application/json",
                                              "authorization": f"Bearer {SYSOP_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def error_of(answer: dict) -> dict:
    error = answer["error"]
    assert set(error) == {"message", "type", "param", "code"} and isinstance(error["code"], str), error
    return error


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def intent_state(realm: Realm, intent_id: str) -> int:
    with realm.channel() as channel:
        return intents_pb2_grpc.IntentsStub(channel).Get(
            intents_pb2.GetRequest(intent_id=intent_id), metadata=(("authorization", f"Bearer {SYSOP_TOKEN}"),),
            timeout=5).intent.state


def still_serving(gateway: Gateway) -> None:
    answer = client(gateway).embeddings.create(model="", input="again", encoding_format="float")
    assert close(answer.data[0].embedding, embed_vector("again"))


# ------------------------------------------------------------------------------------------ the SDKs --

def test_the_mtor_sdk_embeds_through_the_realm(realm):
    with Client(realm.address) as sdk:
        result = sdk.embed(TEXTS, model="vec", timeout=30)
        one = sdk.embed("just one", timeout=30)
    assert isinstance(result, EmbeddingsResult) and (result.kind, result.model, result.worker) == ("embed", "vec", "w1")
    assert result.dimensions == EMBED_DIMENSIONS and result.prompt_tokens == sum(len(t.split()) for t in TEXTS)
    assert all(close(list(v), embed_vector(t)) for v, t in zip(result.vectors, TEXTS, strict=True))
    assert result.usage.cost >= 0.01  # costs.embed_base, and a little per second
    assert len(one.vectors) == 1 and close(list(one.vectors[0]), embed_vector("just one")) and one.model == "echo"

    async def go() -> EmbeddingsResult:
        async with AsyncClient(realm.address) as aio:
            return await aio.embed(TEXTS[:2], timeout=30)

    assert asyncio.run(go()).vectors == result.vectors[:2]


def test_a_bad_embed_is_invalid_argument_naming_the_field(realm):
    with realm.channel() as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        with pytest.raises(grpc.RpcError) as e:
            list(stub.Submit(intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
                embed=intent_pb2.EmbedRequest(texts=["ok", ""]))), timeout=5))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "embed.texts[1] is empty" in e.value.details()
    with Client(realm.address) as sdk, pytest.raises(InvalidArgument, match="texts is empty"):
        sdk._run(intent_pb2.IntentRequest(embed=intent_pb2.EmbedRequest()), 5, None)  # past the SDK's own check


def test_embeddings_with_the_sync_openai_sdk_float_and_base64(gateway):
    ai = client(gateway)
    raw = ai.embeddings.with_raw_response.create(model="", input=TEXTS, encoding_format="float")
    answer = raw.parse()
    assert raw.headers["x-mtor-intent-id"] and raw.headers["x-mtor-worker"] == "w1"
    assert answer.object == "list" and answer.model == "echo" and [d.index for d in answer.data] == [0, 1, 2]
    assert all(d.object == "embedding" and close(d.embedding, embed_vector(t)) for d, t in zip(answer.data, TEXTS))
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == sum(len(t.split()) for t in TEXTS)
    # the SDK asks for base64 when encoding_format is not given, and decodes it: the same vectors
    default = ai.embeddings.create(model="vec", input=TEXTS[0])
    assert default.model == "vec" and close(default.data[0].embedding, answer.data[0].embedding)


def test_base64_is_little_endian_float32(gateway):
    status, answer = post(gateway, {"input": ["hello"], "encoding_format": "base64", "user": "someone"})
    assert status == 200, answer
    packed = base64.b64decode(answer["data"][0]["embedding"])
    assert close(list(struct.unpack(f"<{EMBED_DIMENSIONS}f", packed)), embed_vector("hello"))


def test_embeddings_with_the_async_openai_sdk(gateway):
    async def go() -> list[list[float]]:
        async with openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=SYSOP_TOKEN, max_retries=0) as ai:
            answers = await asyncio.gather(*(ai.embeddings.create(model="", input=[t]) for t in TEXTS))
            return [a.data[0].embedding for a in answers]

    assert all(close(v, embed_vector(t)) for v, t in zip(asyncio.run(go()), TEXTS, strict=True))


def test_dimensions_only_at_the_native_size(gateway):
    ai = client(gateway)
    same = ai.embeddings.create(model="", input="x", dimensions=EMBED_DIMENSIONS, encoding_format="float")
    assert len(same.data[0].embedding) == EMBED_DIMENSIONS
    with pytest.raises(openai.BadRequestError) as e:
        ai.embeddings.create(model="", input="x", dimensions=8)
    assert e.value.body["param"] == "dimensions" and e.value.body["code"] == "unsupported_parameter"
    assert f"{EMBED_DIMENSIONS} dimensions" in e.value.message
    still_serving(gateway)


# ------------------------------------------------------------------------------------------ bad input --

@pytest.mark.parametrize("body,param,code", [
    ({"input": [1, 2, 3]}, "input", "unsupported_parameter"),  # token arrays
    ({"input": [[1, 2], [3]]}, "input", "unsupported_parameter"),
    ({"input": 7}, "input", "invalid_request"),
    ({"input": ""}, "input", "invalid_request"),
    ({"input": ["fine", "  "]}, "input", "invalid_request"),
    ({"input": []}, "input", "invalid_request"),
    ({"input": ["x", None]}, "input", "invalid_request"),
    ({"input": ["x"] * 2049}, "input", "invalid_request"),
    ({"model": ""}, "input", "invalid_request"),
    ({"input": "x", "encoding_format": "int8"}, "encoding_format", "invalid_request"),
    ({"input": "x", "dimensions": 0}, "dimensions", "invalid_request"),
    ({"input": "x", "dimensions": "many"}, "dimensions", "invalid_request"),
    ({"input": "x", "temperature": 0.5}, "temperature", "unknown_parameter"),
], ids=lambda v: json.dumps(v)[:40] if isinstance(v, dict) else None)
def test_bad_bodies_get_400_naming_what_is_wrong(gateway, body, param, code):
    status, answer = post(gateway, body)
    error = error_of(answer)
    assert (status, error["param"], error["code"]) == (400, param, code), error
    still_serving(gateway)


def test_a_body_that_is_not_json_or_not_an_object(gateway):
    for raw in (b"{nope", b"[1, 2]"):
        status, answer = post(gateway, None, raw)
        assert status == 400 and error_of(answer)["code"] == "invalid_json"
    still_serving(gateway)


def test_a_wrong_token_is_401_and_a_failed_intent_its_status(gateway):
    with pytest.raises(openai.AuthenticationError) as e:
        client(gateway, "mtor_not-a-token").embeddings.create(model="", input="x")
    assert e.value.body["code"] == "unauthenticated"
    with pytest.raises(openai.InternalServerError) as e:
        client(gateway).embeddings.create(model="", input=["!fail", "x"])
    assert e.value.status_code == 500 and "asked to fail" in e.value.message
    still_serving(gateway)


def test_a_client_giving_up_cancels_its_intent(realm, gateway):
    token = realm.new_user("impatient-embedder")
    with pytest.raises(openai.APITimeoutError):
        client(gateway, token).with_options(timeout=1.0).embeddings.create(model="", input="!sleep 3")

    def running() -> list[str]:
        with realm.admin() as admin:
            return [e.intent.intent_id for e in admin.queue() if e.user == "impatient-embedder"]

    wait_until(lambda: not running(), 1.5, what="the intent cancelled, not running on")
    still_serving(gateway)


# ---------------------------------------------------------------------------------- the starter model --

def test_a_real_embedding_from_the_starter_model(tmp_path):
    """SmolLM2-135M in llama.cpp's embedding mode (loaded on the first embed): unit vectors of its native 576
    dimensions, closer for sentences that mean alike, the same through the gateway and the SDK."""
    cluster = Cluster(tmp_path)
    try:
        realm = cluster.realm()
        cluster.worker(realm, "cpu", backends="llama", env={"MTOR_LLAMA_THREADS": "1"})
        ai = client(cluster.gateway(realm))
        model = "SmolLM2-135M-Instruct.Q4_1"
        assert "embed" in {m.id: m for m in ai.models.list().data}[model].mtor_kinds
        answer = ai.embeddings.create(model=model, input=TEXTS, encoding_format="float", timeout=120)
        vectors = [d.embedding for d in answer.data]
        assert answer.model == model and [len(v) for v in vectors] == [576] * 3
        assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-4 for v in vectors)
        assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])  # cat/kitten over stocks
        assert answer.usage.prompt_tokens >= len(" ".join(TEXTS).split())  # llama.cpp's own token count
        assert ai.embeddings.create(model=model, input=TEXTS, dimensions=576).data[0].embedding == \
            pytest.approx(vectors[0], abs=1e-6)  # base64 (the SDK's default) carries the same floats
        with Client(realm.address) as sdk:
            again = sdk.embed(TEXTS[2], model=model, timeout=120)
            chat = sdk.chat("What is the capital of France?", temperature=0.0, max_tokens=24, timeout=120)
        assert list(again.vectors[0]) == pytest.approx(vectors[2], abs=1e-5)  # alone or batched, the same
        assert "paris" in chat.text.lower()  # the chat model is untouched by its embedding twin
        with pytest.raises(openai.BadRequestError) as e:  # refused by name, not cut short
            ai.embeddings.create(model=model, input=["fine", "word " * 2100])
        assert "embed.texts[1] is 2" in e.value.message and "at most 2048" in e.value.message
    finally:
        cluster.stop()
