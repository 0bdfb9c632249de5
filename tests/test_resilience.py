"""Losses and restarts: killed workers, a killed realm, health, draining."""
from __future__ import annotations

import asyncio
import signal
import threading

from harness import SYSOP_TOKEN, wait_until
from mtor_client import AsyncClient, Client, Delta, Finished, Internal, Retrying, Started
from mtor_client._proto.mtor.v1 import intent_pb2


def chat_request(prompt: str, request_id: str = "") -> intent_pb2.IntentRequest:
    return intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt=prompt), request_id=request_id)


def terminal(events: list) -> list:
    return [e for e in events if e.__class__.__name__ in ("Finished", "Failed")]


def test_worker_killed_mid_intent_is_redispatched_with_exactly_one_result(cluster):
    realm = cluster.realm()
    w1 = cluster.worker(realm, "w1", concurrency=1)
    with Client(realm.address) as client:
        events = client.submit(chat_request("!sleep 1.5 survive"))
        seen = [next(events), next(events)]
        assert isinstance(seen[1], Started) and seen[1].worker == "w1"
        cluster.worker(realm, "w2", concurrency=1)
        w1.kill9()
        seen += list(events)
    retry = [e for e in seen if isinstance(e, Retrying)]
    assert len(retry) == 1 and retry[0].attempt == 2 and "w1" in retry[0].reason
    starts = [e for e in seen if isinstance(e, Started)]
    assert [s.worker for s in starts] == ["w1", "w2"] and starts[1].attempt == 2
    ends = terminal(seen)
    assert len(ends) == 1 and isinstance(ends[0], Finished) and ends[0].result.worker == "w2"
    with Client(realm.address) as client:
        info = client.get(ends[0].intent_id)
        assert info.state == "succeeded" and info.attempts == 2


def test_frozen_worker_is_taken_out_after_missed_heartbeats(cluster):
    # pings that come too seldom to find it: missed heartbeats do (as for a worker whose event loop hangs)
    realm = cluster.realm({"MTOR_HEALTH_KEEPALIVE_S": "60"})
    w1 = cluster.worker(realm, "w1", concurrency=1)
    with Client(realm.address) as client:
        events = client.submit(chat_request("!sleep 1 frozen"))
        next(events)
        assert next(events).worker == "w1"
        cluster.worker(realm, "w2", concurrency=1)
        w1.popen.send_signal(signal.SIGSTOP)  # the stream stays open; only heartbeats stop
        try:
            rest = list(events)
        finally:
            w1.popen.send_signal(signal.SIGCONT)
    retry = [e for e in rest if isinstance(e, Retrying)]
    assert len(retry) == 1 and "missed 3 heartbeats" in retry[0].reason
    ends = terminal(rest)
    assert len(ends) == 1 and ends[0].result.worker == "w2"


def test_attempts_are_bounded(cluster):
    realm = cluster.realm({"MTOR_DISPATCH_MAX_ATTEMPTS": "1"})
    w1 = cluster.worker(realm, "w1", concurrency=1)
    with Client(realm.address) as client:
        events = client.submit(chat_request("!sleep 5"))
        next(events)
        next(events)
        w1.kill9()
        end = list(events)[-1]
    assert end.error.code.name == "UNAVAILABLE" and "gave up after 1 attempts" in end.error.message


def test_realm_killed_and_restarted_completes_queued_and_running_intents(cluster):
    realm = cluster.realm()
    worker = cluster.worker(realm, "w1", concurrency=1)
    with Client(realm.address) as client:
        streams = [client.submit(chat_request("!sleep 1.5 first"))]
        ids = [next(streams[0]).intent_id]
        assert isinstance(next(streams[0]), Started)
        for i in range(3):
            streams.append(client.submit(chat_request(f"queued {i}")))
            ids.append(next(streams[-1]).intent_id)
    realm.proc.kill9()
    realm = cluster.restart(realm)
    with Client(realm.address) as client:
        results = [client.wait(intent_id, timeout=30) for intent_id in ids]
        assert [r.text for r in results] == ["echo: !sleep 1.5 first", "echo: queued 0", "echo: queued 1",
                                             "echo: queued 2"]
        # the same worker process reconnected by itself and served them
        assert worker.alive() and {r.worker for r in results} == {"w1"}
        assert client.get(ids[0]).attempts == 2  # the running one was dispatched again
        assert client.get(ids[1]).attempts == 1


def test_client_reattaches_across_a_realm_restart(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    outcome = {}

    def ask() -> None:
        with Client(realm.address) as client:
            outcome["result"] = client.chat("!sleep 2 keep going", timeout=60)

    thread = threading.Thread(target=ask)
    thread.start()
    wait_until(lambda: realm.describe().running == 1, 10, what="the intent to start")
    realm.proc.kill9()
    restarted = cluster.restart(realm)
    thread.join(60)
    assert outcome["result"].text == "echo: !sleep 2 keep going"
    assert restarted.proc.alive()


def test_health_falls_to_blacklist_and_readmits(cluster):
    # heartbeats (+10 each) every second, so that they cannot outpace the burst of failures (-10 each)
    realm = cluster.realm({"MTOR_HEALTH_READMIT_AFTER_S": "1.5", "MTOR_HEALTH_HEARTBEAT_INTERVAL_S": "1"})
    cluster.worker(realm, "w1", concurrency=32)
    notices: list[str] = []
    users_notices: list[str] = []

    async def scenario() -> None:
        async with AsyncClient(realm.address, token=SYSOP_TOKEN) as sysop, AsyncClient(realm.address) as client:
            async def listen(who: AsyncClient, into: list[str]) -> None:
                async for notice in who.notices():
                    into.append(notice.text)

            listener = asyncio.gather(listen(sysop, notices), listen(client, users_notices))
            await asyncio.sleep(0.2)

            async def fail() -> None:
                try:
                    await client.chat("!fail on purpose", timeout=20)
                except Internal:
                    pass

            # eleven failures: one more than it takes from 100 to 0, enough to absorb a heartbeat's +10;
            # a failing intent that arrives after the blacklisting waits, and fails after the readmission
            burst = asyncio.gather(*(fail() for _ in range(11)))
            for _ in range(100):
                if "Worker w1 blacklisted" in notices:
                    break
                await asyncio.sleep(0.05)
            assert realm.workers() == 0  # blacklisted: no work for it
            await burst
            for _ in range(100):
                if "Worker w1 readmitted" in notices:
                    break
                await asyncio.sleep(0.05)
            listener.cancel()

    asyncio.run(scenario())
    assert "Worker w1 blacklisted" in notices and "Worker w1 readmitted" in notices
    assert users_notices == []  # worker health is the sysop's business
    assert realm.workers() == 1
    with Client(realm.address) as client:
        assert client.chat("healthy again", timeout=10).worker == "w1"


def test_sigterm_drains_the_worker(cluster):
    realm = cluster.realm()
    w1 = cluster.worker(realm, "w1", concurrency=2, delay=0.3)
    with Client(realm.address) as client:
        running = client.submit(chat_request("finish me now please"))
        next(running)
        assert next(running).worker == "w1"
        assert isinstance(next(running), Delta)  # the worker is at work on it
        w1.popen.send_signal(signal.SIGTERM)
        wait_until(lambda: realm.workers() == 0, 5, what="the worker to stop taking work")
        later = client.submit(chat_request("after the drain"))
        later_id = next(later).intent_id
        end = list(running)[-1]
        assert isinstance(end, Finished) and end.result.worker == "w1"  # finished, not re-dispatched
        assert w1.popen.wait(10) == 0
        assert client.get(later_id).state == "queued"  # the draining worker took nothing new
        cluster.worker(realm, "w2")
        assert list(later)[-1].result.worker == "w2"
