"""Intents end to end: a real realm process, real echo workers, the Python client."""
from __future__ import annotations

import asyncio
import io
import struct
import threading
import time
import wave

import pytest
from harness import wait_until
from mtor_client import (
    Accepted,
    AsyncClient,
    Cancelled,
    Client,
    DeadlineExceeded,
    Delta,
    Failed,
    Finished,
    Internal,
    NotFound,
    Queued,
    ResourceExhausted,
    Started,
)
from mtor_client._proto.mtor.v1 import intent_pb2


def chat_request(prompt: str) -> intent_pb2.IntentRequest:
    return intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt=prompt))


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return buf.getvalue()


def test_chat_streams_deltas_before_the_result_with_usage(cluster):
    realm = cluster.realm({"MTOR_REALM_NAME": "alpha"})
    cluster.worker(realm, "w1", delay=0.05)
    events = []
    with Client(realm.address) as client:
        result = client.chat("the quick brown fox", on_event=events.append)
    assert result.text == "echo: the quick brown fox"
    assert (result.worker, result.realm, result.kind) == ("w1", "alpha", "chat")
    assert isinstance(events[0], Accepted) and events[0].intent_id == result.intent_id
    assert isinstance(events[-1], Finished)
    assert [e for e in events if isinstance(e, (Finished, Failed))] == [events[-1]]
    deltas = [e for e in events if isinstance(e, Delta)]
    assert len(deltas) >= 4 and "".join(d.text for d in deltas) == result.text
    assert any(isinstance(e, Started) and e.worker == "w1" for e in events)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # four chunks with a 50 ms pause before each: processing covers them, queue wait is not billed
    assert result.usage.processing_s >= 0.2
    assert result.usage.cost == pytest.approx(0.01 + 0.001 * result.usage.processing_s)


def test_chat_stream_yields_text_chunks(cluster):
    realm = cluster.realm()
    cluster.worker(realm, delay=0.01)
    with Client(realm.address) as client:
        stream = client.chat_stream("one two three")
        chunks = list(stream)
    assert len(chunks) == 4 and "".join(chunks) == "echo: one two three"
    assert stream.result.text == "echo: one two three" and stream.intent_id


def test_every_kind_returns_its_typed_result(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    with Client(realm.address) as client:
        transcript = client.transcribe(wav_bytes(0.5), format="wav", language="de")
        assert transcript.kind == "transcribe" and transcript.language == "de"
        assert transcript.duration_s == pytest.approx(0.5, abs=0.01) and transcript.segments

        audio = client.speak("hello there world")
        with wave.open(io.BytesIO(audio.wav)) as w:
            assert w.getframerate() == audio.sample_rate and w.getnframes() > 0

        image = client.imagine("a red cube", width=64, height=32, seed=7)
        assert image.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert struct.unpack(">II", image.png[16:24]) == (64, 32) and image.seed == 7

        seen = client.vision(b"\x89PNG fake image bytes", "what is this?")
        assert seen.kind == "vision" and "what is this?" in seen.text


def test_get_reports_state_and_result_then_watch_replays_the_end(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    with Client(realm.address) as client:
        result = client.chat("remember me")
        info = client.get(result.intent_id)
        assert info.state == "succeeded" and info.attempts == 1 and info.worker == "w1"
        assert info.result is not None and info.result.text == "echo: remember me"
        watched = list(client.watch(result.intent_id))
        assert len(watched) == 1 and isinstance(watched[0], Finished)
        assert watched[0].result.text == "echo: remember me"


def test_worker_failure_is_reported_with_its_code(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    with Client(realm.address) as client:
        with pytest.raises(Internal) as e:
            client.chat("!fail please")
        assert "asked to fail" in e.value.message and e.value.intent_id
        assert client.get(e.value.intent_id).state == "failed"


def test_cancel_while_queued(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)
    with Client(realm.address) as client:
        busy = client.submit(chat_request("!sleep 30"))
        first = next(busy)
        waiting = client.submit(chat_request("after you"))
        accepted = next(waiting)
        assert isinstance(accepted, Accepted) and accepted.queue_position == 1
        assert client.cancel(accepted.intent_id) == "cancelled"
        rest = list(waiting)
        assert isinstance(rest[-1], Failed) and isinstance(rest[-1].error, Cancelled)
        assert client.get(accepted.intent_id).state == "cancelled"
        assert client.get(first.intent_id).state == "running"  # the running one is untouched
        client.cancel(first.intent_id)


def test_cancel_while_running_stops_the_work_and_frees_the_slot(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)
    with Client(realm.address) as client:
        events = client.submit(chat_request("!sleep 30"))
        accepted = next(events)
        assert isinstance(next(events), Started)
        t0 = time.monotonic()
        assert client.cancel(accepted.intent_id) == "cancelled"
        end = list(events)[-1]
        assert isinstance(end, Failed) and isinstance(end.error, Cancelled)
        # the worker confirms the cancel and its only slot takes new work at once
        assert client.chat("next", timeout=10).text == "echo: next"
        assert time.monotonic() - t0 < 10
        assert client.cancel(accepted.intent_id) == "cancelled"  # idempotent on a finished intent


def test_queue_full_is_resource_exhausted(cluster):
    realm = cluster.realm({"MTOR_QUEUE_MAX_DEPTH": "2"})
    cluster.worker(realm, concurrency=1)
    with Client(realm.address) as client:
        streams = [client.submit(chat_request("!sleep 30"))]
        ids = [next(streams[0]).intent_id]
        for _ in range(2):  # fill the queue
            streams.append(client.submit(chat_request("wait")))
            ids.append(next(streams[-1]).intent_id)
        with pytest.raises(ResourceExhausted) as e:
            next(client.submit(chat_request("one too many")))
        assert "queue is full, try again later" in e.value.message
        for intent_id in ids:
            client.cancel(intent_id)
        # room again once the queue drains
        assert client.chat("fits now", timeout=10).text == "echo: fits now"


def test_one_users_burst_does_not_starve_another(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)

    async def scenario() -> list[str]:
        finished: list[str] = []
        async with AsyncClient(realm.address, token=realm.new_user("alice")) as alice, \
                AsyncClient(realm.address, token=realm.new_user("bob")) as bob:
            blocker = alice.submit(chat_request("!sleep 1"))
            await anext(blocker)

            async def run(client: AsyncClient, who: str, n: int) -> None:
                await client.chat(f"{who} {n}")
                finished.append(f"{who}{n}")

            tasks = [asyncio.create_task(run(alice, "alice", i)) for i in range(8)]
            await asyncio.sleep(0.3)  # alice's burst is queued first
            tasks.append(asyncio.create_task(run(bob, "bob", 0)))
            await asyncio.gather(*tasks)
            async for _ in blocker:
                pass
        return finished

    order = asyncio.run(scenario())
    assert len(order) == 9
    # bob arrived after all eight of alice's, yet is served within the first two
    assert order.index("bob0") <= 1, order


def test_client_deadline_cancels_the_intent(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)
    with Client(realm.address) as client:
        ids = []
        with pytest.raises(DeadlineExceeded):
            client.chat("!sleep 30", timeout=1.0, on_event=lambda e: ids.append(e.intent_id))
        info = wait_until(lambda: (i := client.get(ids[0])).state != "running" and i, 5)
        assert info.state == "cancelled" and info.error.code.name == "DEADLINE_EXCEEDED"
        assert client.chat("free again", timeout=5).text == "echo: free again"


def test_per_kind_timeout_fails_the_intent(cluster):
    realm = cluster.realm({"MTOR_TIMEOUTS_CHAT_S": "0.5"})
    cluster.worker(realm)
    with Client(realm.address) as client:
        with pytest.raises(DeadlineExceeded) as e:
            client.chat("!sleep 30")
        assert "timeouts.chat" in e.value.message  # MTOR_TIMEOUTS_CHAT_S: the name before [timeouts] chat


def test_intent_waits_for_a_worker_that_joins_later(cluster):
    realm = cluster.realm()
    with Client(realm.address) as client:
        events = client.submit(chat_request("patience"))
        accepted = next(events)
        assert accepted.queue_position == 1
        cluster.worker(realm, "late")
        end = list(events)[-1]
        assert isinstance(end, Finished) and end.result.worker == "late"


def test_queue_wait_limit_fails_an_intent_nobody_serves(cluster):
    realm = cluster.realm({"MTOR_QUEUE_MAX_WAIT_S": "0.5"})
    with Client(realm.address) as client:
        with pytest.raises(DeadlineExceeded) as e:
            client.chat("anyone?", timeout=10)
        assert "queue.max_wait_s" in e.value.message


def test_same_request_id_attaches_to_the_same_intent(cluster):
    realm = cluster.realm()
    cluster.worker(realm, delay=0.05)
    request = intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="once only"), request_id="abc-1")
    with Client(realm.address) as client:
        first = list(client.submit(request))
        second = list(client.submit(request))
    assert first[0].intent_id == second[0].intent_id
    assert isinstance(second[-1], Finished) and second[-1].result.text == "echo: once only"


def test_get_unknown_id_raises_not_found(cluster):
    realm = cluster.realm()
    with Client(realm.address) as client:
        with pytest.raises(NotFound):
            client.get("0" * 32)


def test_many_intents_run_at_once_across_workers(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=4)
    cluster.worker(realm, "w2", concurrency=4)
    results = []

    def one(i: int) -> None:
        with Client(realm.address) as client:
            results.append(client.chat(f"!sleep 1 job {i}", timeout=30))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    # all eight run at once (the original ran one intent at a time for the whole system)
    wait_until(lambda: realm.describe().running == 8, 10, what="eight intents running at once")
    for t in threads:
        t.join()
    assert len(results) == 8 and {r.worker for r in results} == {"w1", "w2"}


def test_finished_intents_are_kept_for_the_configured_time(cluster):
    realm = cluster.realm({"MTOR_STORE_RESULT_TTL_S": "1"})
    cluster.worker(realm)
    with Client(realm.address) as client:
        result = client.chat("short-lived")
        assert client.get(result.intent_id).state == "succeeded"

        def gone() -> bool:
            try:
                client.get(result.intent_id)
            except NotFound:
                return True
            return False

        wait_until(gone, 10, interval=0.1, what="the expired result to be purged")


def test_waiting_intents_see_their_queue_position_change(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)
    with Client(realm.address) as client:
        busy = client.submit(chat_request("!sleep 30"))
        busy_id = next(busy).intent_id
        streams = [client.submit(chat_request(f"waiting {i}")) for i in range(3)]
        accepted = [next(s) for s in streams]
        assert [a.queue_position for a in accepted] == [1, 2, 3]
        client.cancel(accepted[0].intent_id)
        moved = [next(s) for s in streams[1:]]
        assert [(m.queue_position, m.queue_depth) for m in moved] == [(1, 2), (2, 2)]
        assert all(isinstance(m, Queued) for m in moved)
        client.cancel(busy_id)  # the next in line starts
        assert isinstance(next(streams[1]), Started)
        assert (lambda e: (e.queue_position, e.queue_depth))(next(streams[2])) == (1, 1)
        client.cancel(accepted[2].intent_id)


def test_results_larger_than_grpcs_default_4_mib_reach_the_client(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    with Client(realm.address) as client:
        audio = client.speak("word " * 2000, timeout=60)  # echo: 0.1 s of 16 kHz speech per word
    assert len(audio.wav) > 6_000_000 and audio.duration_s == pytest.approx(200.0)
