"""Workers that vanish: killed with kill -9 (the connection breaks) or frozen with SIGSTOP (it stays
open; the realm's keepalive pings go unanswered), seen from the sysop's worker list and from the intents
that follow.

tests/test_resilience.py covers what happens to the intent running at that moment; here: how soon the
realm stops listing (and routing to) the worker, why, where the next intents go, and a frozen worker
coming back. Bounds are generous; `bench/bench_discovery.py` measures the real figures with the default
settings.
"""
from __future__ import annotations

import re
import signal
import time

from harness import Realm, wait_until
from mtor_client import Client, Finished, Retrying, Started
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_server.services.worker_link import CONNECTION_LOST

BOUND_S = 5.0
"""Longest a lost worker may stay listed here: the default keepalive finds a frozen one within 1.8 s."""
NO_HEARTBEATS = {"MTOR_HEALTH_HEARTBEAT_INTERVAL_S": "30"}
"""A realm that would wait 90 s for missed heartbeats: only its keepalive pings can find a frozen worker."""


def listed(realm: Realm) -> set[str]:
    with realm.admin() as admin:
        return {w.name for w in admin.workers()}


def taken_out(realm: Realm, name: str) -> float:
    """Seconds until the realm no longer lists `name`, polled from now."""
    t0 = time.monotonic()
    wait_until(lambda: name not in listed(realm), BOUND_S, interval=0.01, what=f"{name} to be taken out")
    return time.monotonic() - t0


def reason_out(realm: Realm, name: str) -> str:
    """Why the realm's log says the worker went out."""
    m = re.search(rf"WARNING mtor\.realm: worker {name} out: (.*)", realm.proc.output())
    assert m, realm.proc.output()
    return m.group(1)


def served_by(client: Client, n: int, prompt: str) -> set[str]:
    return {client.chat(f"{prompt} {i}", timeout=20).worker for i in range(n)}


def test_a_killed_worker_is_dropped_and_the_next_intents_go_to_the_survivor(cluster):
    realm = cluster.realm()
    victim = cluster.worker(realm, "victim")
    cluster.worker(realm, "survivor")
    assert listed(realm) == {"victim", "survivor"}
    with realm.admin() as admin, Client(realm.address) as client:
        admin.drain_worker("survivor")
        assert served_by(client, 3, "before") == {"victim"}  # it was routable
        admin.readmit_worker("survivor")
        victim.kill9()
        assert taken_out(realm, "victim") < BOUND_S
        assert listed(realm) == {"survivor"}
        # the broken connection, not the heartbeats, took it out
        assert reason_out(realm, "victim") == CONNECTION_LOST
        assert served_by(client, 8, "after") == {"survivor"}
        assert realm.describe().kinds[0].workers == 1


def test_a_frozen_worker_is_dropped_by_its_unanswered_pings_then_rejoins(cluster):
    realm = cluster.realm(NO_HEARTBEATS)
    frozen = cluster.worker(realm, "frozen", concurrency=1)
    cluster.worker(realm, "survivor")
    with realm.admin() as admin, Client(realm.address) as client:
        admin.drain_worker("survivor")  # so that the long intent starts on the one to freeze
        events = client.submit(intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="!sleep 2 keep me")))
        intent_id = next(events).intent_id
        first = next(e for e in events if isinstance(e, Started))
        assert first.worker == "frozen"
        admin.readmit_worker("survivor")

        frozen.popen.send_signal(signal.SIGSTOP)  # the connection stays open: it only stops answering
        try:
            assert taken_out(realm, "frozen") < BOUND_S
            assert reason_out(realm, "frozen") == CONNECTION_LOST
            assert listed(realm) == {"survivor"}
            assert served_by(client, 6, "while frozen") == {"survivor"}
            rest = list(events)  # the intent it was running: dispatched again, one result
        finally:
            frozen.popen.send_signal(signal.SIGCONT)

        retries = [e for e in rest if isinstance(e, Retrying)]
        assert len(retries) == 1 and f"frozen lost: {CONNECTION_LOST}" in retries[0].reason
        assert [e.worker for e in rest if isinstance(e, Started)] == ["survivor"]
        ends = [e for e in rest if e.__class__.__name__ in ("Finished", "Failed")]
        assert len(ends) == 1 and isinstance(ends[0], Finished) and ends[0].result.worker == "survivor"

        # woken up, it finds its stream ended, drops the stale assignment and joins again
        wait_until(lambda: listed(realm) == {"frozen", "survivor"}, 15.0, what="the frozen worker to rejoin")
        assert frozen.alive()
        admin.drain_worker("survivor")
        assert served_by(client, 3, "after the thaw") == {"frozen"}
        info = client.get(intent_id)  # its late result, if any, was not taken
        assert info.state == "succeeded" and info.attempts == 2 and info.worker == "survivor"
        assert info.result is not None and info.result.text == "echo: !sleep 2 keep me"
