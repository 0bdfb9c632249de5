"""The realm's face on the wire: standard health and reflection, and a clear
status for every bad input, after which the realm keeps serving."""
from __future__ import annotations

import queue
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from harness import JOIN_TOKEN, SYSOP_TOKEN, wait_until
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc, worker_link_pb2, worker_link_pb2_grpc

SERVICES = {"mtor.v1.Intents", "mtor.v1.WorkerLink", "mtor.v1.RealmInfo", "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"}


def test_health_check_and_watch_answer(cluster):
    realm = cluster.realm()
    with grpc.insecure_channel(realm.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "mtor.v1.Intents", "mtor.v1.WorkerLink"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        watch = stub.Watch(health_pb2.HealthCheckRequest(service="mtor.v1.Intents"), timeout=5)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()
        with pytest.raises(grpc.RpcError) as e:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_and_describes_every_service(cluster):
    realm = cluster.realm()
    with grpc.insecure_channel(realm.address) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        assert SERVICES <= set(db.get_services())
        from google.protobuf.descriptor_pool import DescriptorPool
        pool = DescriptorPool(db)
        submit = pool.FindServiceByName("mtor.v1.Intents").FindMethodByName("Submit")
        assert submit.input_type.full_name == "mtor.v1.SubmitRequest"
        assert submit.server_streaming


def _submit_error(stub, intent: intent_pb2.IntentRequest) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        list(stub.Submit(intents_pb2.SubmitRequest(intent=intent), timeout=5))
    return e.value


BAD_INTENTS = [
    (intent_pb2.IntentRequest(), "no payload"),
    (intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="   ")), "chat.prompt is empty"),
    (intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(
        messages=[intent_pb2.ChatMessage(role="robot", content="x")])),
     "chat.messages[0].role"),
    (intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="hi", temperature=9)), "chat.temperature"),
    (intent_pb2.IntentRequest(transcribe=intent_pb2.TranscribeRequest()), "transcribe.audio is empty"),
    (intent_pb2.IntentRequest(speak=intent_pb2.SpeakRequest(text="")), "speak.text is empty"),
    (intent_pb2.IntentRequest(imagine=intent_pb2.ImagineRequest(prompt="cat", width=100000)), "imagine.width"),
    (intent_pb2.IntentRequest(vision=intent_pb2.VisionRequest(prompt="what?")), "vision.image is empty"),
    (intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="hi"), request_id="x" * 500), "request_id"),
    (intent_pb2.IntentRequest(embed=intent_pb2.EmbedRequest()), "embed.texts is empty"),
    (intent_pb2.IntentRequest(embed=intent_pb2.EmbedRequest(texts=["fine", "  "])), "embed.texts[1] is empty"),
    (intent_pb2.IntentRequest(embed=intent_pb2.EmbedRequest(texts=["x"] * 2049)), "embed.texts has 2049 texts"),
]


@pytest.mark.parametrize("intent,names", BAD_INTENTS, ids=[n for _, n in BAD_INTENTS])
def test_bad_intent_is_invalid_argument_naming_the_field(cluster, intent, names):
    realm = cluster.realm()
    with grpc.insecure_channel(realm.address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        error = _submit_error(stub, intent)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert names in error.details()
        # and the realm keeps serving
        assert realm.describe().name


def test_unknown_kind_from_a_newer_client_is_invalid_argument(cluster):
    realm = cluster.realm()
    # field 99 is a payload this realm does not know (e.g. a kind added in a later protocol revision)
    unknown = intent_pb2.IntentRequest(model="m").SerializeToString() + bytes([0x9A, 0x06, 0x02, 0x08, 0x01])
    with grpc.insecure_channel(realm.address) as channel:
        call = channel.unary_stream("/mtor.v1.Intents/Submit", request_serializer=lambda b: b,
                                    response_deserializer=intent_pb2.IntentEvent.FromString)
        with pytest.raises(grpc.RpcError) as e:
            list(call(bytes([0x0A, len(unknown)]) + unknown, timeout=5))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no payload this realm knows" in e.value.details()


def test_oversize_payload_is_invalid_argument(cluster):
    realm = cluster.realm({"MTOR_REALM_MAX_PAYLOAD_BYTES": "100000"})
    with grpc.insecure_channel(realm.address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        error = _submit_error(stub, intent_pb2.IntentRequest(
            transcribe=intent_pb2.TranscribeRequest(audio=b"\0" * 200_000)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "at most 100000" in error.details() and "realm.max_payload_bytes" in error.details()


def test_message_over_the_transport_limit_is_refused_and_realm_keeps_serving(cluster):
    realm = cluster.realm({"MTOR_REALM_MAX_MESSAGE_BYTES": "50000"})
    with grpc.insecure_channel(realm.address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        error = _submit_error(stub, intent_pb2.IntentRequest(
            transcribe=intent_pb2.TranscribeRequest(audio=b"\0" * 100_000)))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert realm.describe().name


@pytest.mark.parametrize("method", ["Get", "Cancel", "Watch"])
def test_unknown_intent_id_is_not_found_and_empty_id_is_invalid(cluster, method):
    realm = cluster.realm()
    with grpc.insecure_channel(realm.address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        request = {"Get": intents_pb2.GetRequest, "Cancel": intents_pb2.CancelRequest,
                   "Watch": intents_pb2.WatchRequest}[method]
        call = getattr(stub, method)
        for intent_id, code, text in [("nope", grpc.StatusCode.NOT_FOUND, "'nope'"),
                                      ("", grpc.StatusCode.INVALID_ARGUMENT, "intent_id is empty")]:
            with pytest.raises(grpc.RpcError) as e:
                reply = call(request(intent_id=intent_id), timeout=5)
                if method == "Watch":
                    list(reply)
            assert e.value.code() == code
            assert text in e.value.details()


def _connect_error(address: str, first: worker_link_pb2.WorkerMessage,
                   join_token: str | None = JOIN_TOKEN) -> grpc.RpcError:
    metadata = [("authorization", f"Bearer {join_token}")] if join_token is not None else []
    with grpc.insecure_channel(address) as channel:
        stream = worker_link_pb2_grpc.WorkerLinkStub(channel).Connect(iter([first]), timeout=5, metadata=metadata)
        with pytest.raises(grpc.RpcError) as e:
            list(stream)
    return e.value


def test_a_worker_that_does_not_fit_is_refused_with_the_reason(cluster):
    realm = cluster.realm()
    chat = [worker_link_pb2.Capability(kind=intent_pb2.KIND_CHAT)]
    cases = [
        (worker_link_pb2.WorkerMessage(heartbeat=worker_link_pb2.Heartbeat()),
         grpc.StatusCode.INVALID_ARGUMENT, "the first message must be hello"),
        (worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
            name="w", capabilities=chat, max_concurrency=1, protocol=99)),
         grpc.StatusCode.FAILED_PRECONDITION, "protocol 99"),
        (worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
            name="w", max_concurrency=1, protocol=1)),
         grpc.StatusCode.INVALID_ARGUMENT, "serves nothing"),
        (worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
            name="w", capabilities=chat, max_concurrency=0, protocol=1)),
         grpc.StatusCode.INVALID_ARGUMENT, "max_concurrency"),
        (worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
            name="", capabilities=chat, max_concurrency=1, protocol=1)),
         grpc.StatusCode.INVALID_ARGUMENT, "hello.name is empty"),
    ]
    for first, code, text in cases:
        error = _connect_error(realm.address, first)
        assert error.code() == code and text in error.details(), (error.code(), error.details())
    good = worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
        name="w", capabilities=chat, max_concurrency=1, protocol=1))
    for token, text in [(None, "a worker needs a join token"), ("mtor_not-the-token", "unknown join token"),
                        (SYSOP_TOKEN, "unknown join token")]:  # a user's token does not let a worker in
        error = _connect_error(realm.address, good, join_token=token)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED and text in error.details(), error.details()
    assert realm.workers() == 0 and realm.describe().name


def test_a_worker_failing_an_intent_with_no_failure_code_fails_it_as_internal(cluster):
    """A worker of its own making (a raw WorkerLink stream) answers its assignments with code 0 (OK) and 999."""
    realm = cluster.realm()
    to_realm: queue.Queue[worker_link_pb2.WorkerMessage | None] = queue.Queue()
    stopped = threading.Event()

    def messages():
        while (message := to_realm.get()) is not None:
            yield message

    def beat() -> None:
        while not stopped.wait(0.05):
            to_realm.put(worker_link_pb2.WorkerMessage(heartbeat=worker_link_pb2.Heartbeat(healthy=True)))

    with grpc.insecure_channel(realm.address) as channel:
        to_realm.put(worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
            name="odd", capabilities=[worker_link_pb2.Capability(kind=intent_pb2.KIND_CHAT)], max_concurrency=1,
            protocol=1)))
        link = worker_link_pb2_grpc.WorkerLinkStub(channel).Connect(
            messages(), timeout=30, metadata=[("authorization", f"Bearer {JOIN_TOKEN}")])
        assert next(link).HasField("welcome")
        heart = threading.Thread(target=beat, daemon=True)
        heart.start()
        try:
            for code in (0, 999):
                events = intents_pb2_grpc.IntentsStub(channel).Submit(intents_pb2.SubmitRequest(
                    intent=intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="hi"))), timeout=10)
                assign = next(m for m in link if m.HasField("assign")).assign
                to_realm.put(worker_link_pb2.WorkerMessage(update=worker_link_pb2.AssignmentUpdate(
                    assignment_id=assign.assignment_id, failed=intent_pb2.Error(code=code, message="odd"))))
                last = list(events)[-1]
                assert last.HasField("failed") and last.failed.code == grpc.StatusCode.INTERNAL.value[0], last
                assert f"status code {code}, which is no failure" in last.failed.message
        finally:
            stopped.set()
            to_realm.put(None)


@pytest.mark.parametrize("drained", [False, True])
def test_a_worker_that_stops_sending_is_out_with_the_reason(cluster, drained):
    """A raw WorkerLink stream half-closed: after a drain, the worker left; without one, the realm says so (not
    that the connection broke, which is what a stream cut under it says)."""
    realm = cluster.realm()
    hello = worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
        name="quits", capabilities=[worker_link_pb2.Capability(kind=intent_pb2.KIND_CHAT)], max_concurrency=1,
        protocol=1))
    to_realm: queue.Queue[worker_link_pb2.WorkerMessage | None] = queue.Queue()
    to_realm.put(hello)

    def messages():
        while (message := to_realm.get()) is not None:
            yield message

    with grpc.insecure_channel(realm.address) as channel:
        link = worker_link_pb2_grpc.WorkerLinkStub(channel).Connect(
            messages(), timeout=30, metadata=[("authorization", f"Bearer {JOIN_TOKEN}")])
        assert next(link).HasField("welcome")
        assert realm.workers() == 1
        if drained:
            to_realm.put(worker_link_pb2.WorkerMessage(heartbeat=worker_link_pb2.Heartbeat(healthy=True,
                                                                                          draining=True)))
        to_realm.put(None)  # half-close: the realm's side of the stream stays open
        wait_until(lambda: realm.workers() == 0, 10.0, what="the worker to be out")
    log = realm.proc.output()
    if drained:
        assert "worker quits left after draining" in log, log
    else:
        assert "worker quits out: it closed its stream without draining first" in log, log


def test_assignments_and_updates_ready_together_travel_as_one_message_each_way(cluster):
    """A worker whose hello says it takes batches gets the intents that waited for it in one `assigns`, and may
    answer them all in one `updates`; each caller still gets its own events, in order."""
    realm = cluster.realm()
    n = 5
    with grpc.insecure_channel(realm.address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        calls = [stub.Submit(intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
            chat=intent_pb2.ChatRequest(prompt=f"hi {i}"))), timeout=30) for i in range(n)]
        for call in calls:  # each waits in the queue: no worker yet
            assert next(call).HasField("accepted")
        to_realm: queue.Queue[worker_link_pb2.WorkerMessage | None] = queue.Queue()

        def messages():
            while (message := to_realm.get()) is not None:
                yield message

        to_realm.put(worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
            name="batcher", capabilities=[worker_link_pb2.Capability(kind=intent_pb2.KIND_CHAT)],
            max_concurrency=8, protocol=1, takes_batches=True)))
        link = worker_link_pb2_grpc.WorkerLinkStub(channel).Connect(
            messages(), timeout=30, metadata=[("authorization", f"Bearer {JOIN_TOKEN}")])
        try:
            welcome = next(link)
            assert welcome.HasField("welcome") and welcome.welcome.takes_batches
            batch = next(link)  # the realm started all five at once, on joining: one message
            assert batch.WhichOneof("message") == "assigns", batch
            assignments = list(batch.assigns.assignments)
            assert len(assignments) == n
            updates = []
            for a in assignments:
                text = f"batched {a.intent.chat.prompt}"
                updates += [worker_link_pb2.AssignmentUpdate(assignment_id=a.assignment_id,
                                                             delta=intent_pb2.Delta(text=text)),
                            worker_link_pb2.AssignmentUpdate(assignment_id=a.assignment_id,
                                                             result=intent_pb2.IntentResult(
                                                                 text=intent_pb2.TextOutput(text=text)))]
            to_realm.put(worker_link_pb2.WorkerMessage(updates=worker_link_pb2.AssignmentUpdates(updates=updates)))
            for i, call in enumerate(calls):
                rest = [e for e in call if e.WhichOneof("event") != "queued"]
                assert [e.WhichOneof("event") for e in rest] == ["started", "delta", "result"], rest
                assert rest[-1].result.text.text == f"batched hi {i}"
        finally:
            to_realm.put(None)
