"""The sysop's hands on workers and the queue, and the realm watched live,
on a real realm with real workers."""
from __future__ import annotations

import threading
import time

import pytest
from harness import wait_until
from mtor_client import Cancelled, Client, Failed, NotFound
from mtor_client._convert import chat_request
from mtor_client.admin import RealmSnapshot
from mtor_client.types import Notice


def test_workers_are_listed_with_their_health_load_and_capabilities(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=3)
    with Client(realm.address) as client, realm.admin() as admin:
        stream = client.submit(chat_request("!sleep 3 busy"))
        next(stream), next(stream)
        [w1] = admin.workers()
        assert (w1.name, w1.health, w1.running, w1.max_concurrency) == ("w1", 100, 1, 3)
        assert not (w1.blacklisted or w1.draining) and w1.capabilities["chat"] == ()  # echo: any model
        assert set(w1.capabilities) == {"chat", "transcribe", "speak", "imagine", "vision", "embed"}
        assert w1.devices and w1.devices[0].type == "cpu" and w1.heartbeat_age_s < 2
        [entry] = admin.queue()
        assert entry.user == "anonymous" and entry.intent.state == "running" and entry.intent.worker == "w1"


def test_a_drained_worker_finishes_its_work_and_takes_no_more_until_readmitted(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    with Client(realm.address) as client, realm.admin() as admin:
        running = client.submit(chat_request("!sleep 1 finish me"))
        next(running), next(running)
        assert admin.drain_worker("w1").draining
        waiting = client.submit(chat_request("after the drain"))
        waiting_id = next(waiting).intent_id
        assert list(running)[-1].result.text == "echo: !sleep 1 finish me"
        assert client.get(waiting_id).state == "queued"
        assert admin.readmit_worker("w1").draining is False
        assert list(waiting)[-1].result.worker == "w1"


def test_a_hand_blacklisting_lasts_until_the_sysop_readmits(cluster):
    realm = cluster.realm({"MTOR_HEALTH_READMIT_AFTER_S": "0.3"})
    cluster.worker(realm, "w1")
    with realm.admin() as admin, Client(realm.address) as client:
        listed = admin.blacklist_worker("w1")
        assert listed.blacklisted and listed.blacklisted_by_sysop
        time.sleep(1.0)  # past readmit_after_s, with healthy heartbeats: a health blacklisting would be over
        assert admin.workers()[0].blacklisted and realm.workers() == 0
        readmitted = admin.readmit_worker("w1")
        assert not readmitted.blacklisted and readmitted.health == 50
        assert client.chat("back", timeout=10).worker == "w1"
        with pytest.raises(NotFound):
            admin.blacklist_worker("nobody")


def test_a_removed_worker_loses_its_work_to_another_and_stays_out_until_readmitted(cluster):
    realm = cluster.realm()
    w1 = cluster.worker(realm, "w1", concurrency=1)
    with Client(realm.address) as client, realm.admin() as admin:
        running = client.submit(chat_request("!sleep 1 move me"))
        next(running)
        assert next(running).worker == "w1"
        cluster.worker(realm, "w2", concurrency=1)
        admin.remove_worker("w1")
        events = list(running)
        assert events[-1].result.worker == "w2"
        wait_until(lambda: "removed by the sysop" in w1.output(), 10, what="w1's refused rejoin")
        assert [w.name for w in admin.workers()] == ["w2"] and w1.alive()
        assert admin.readmit_worker("w1") is None  # not connected yet
        wait_until(lambda: [w.name for w in admin.workers()] == ["w1", "w2"], 10, what="w1 to rejoin")
        assert [e.action for e in admin.audit()][:2] == ["ReadmitWorker", "RemoveWorker"]


def test_the_sysop_lists_cancels_and_clears_the_queue(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=1)
    token = realm.new_user("alice")
    with Client(realm.address, token=token) as alice, realm.admin() as admin:
        streams = [alice.submit(chat_request(f"!sleep 5 {i}")) for i in range(4)]
        ids = [next(s).intent_id for s in streams]
        wait_until(lambda: len(admin.queue()) == 4, 5, what="four intents in the queue")
        listed = admin.queue()
        assert [e.intent.intent_id for e in listed] == ids  # running first, then in the order they start
        assert [e.intent.state for e in listed] == ["running", "queued", "queued", "queued"]
        assert admin.cancel_intent(ids[3], "not today") == "cancelled"
        assert admin.clear_queue("chat") == 2
        assert [e.intent.intent_id for e in admin.queue()] == ids[:1]  # the running one goes on
        ends = [list(s)[-1] for s in streams[1:]]
        assert all(isinstance(e, Failed) and isinstance(e.error, Cancelled) for e in ends)
        assert ends[2].error.message == "not today" and "cleared the queue" in ends[0].error.message
        admin.cancel_intent(ids[0])


def test_watch_realm_streams_snapshots_on_change_and_notices(cluster):
    realm = cluster.realm()
    seen: list[RealmSnapshot | Notice] = []
    with realm.admin() as admin:
        watching = threading.Thread(target=lambda: seen.extend(admin.watch(min_interval_s=0.05, timeout=6)),
                                    daemon=True)
        watching.start()
        wait_until(lambda: seen, 5, what="the first snapshot")
        assert isinstance(seen[0], RealmSnapshot) and seen[0].workers == ()
        cluster.worker(realm, "w1")
        wait_until(lambda: any(isinstance(s, RealmSnapshot) and [w.name for w in s.workers] == ["w1"] for s in seen),
                   5, what="a snapshot with w1")
        admin.broadcast("hello dashboards")
        wait_until(lambda: any(isinstance(s, Notice) and s.text == "hello dashboards" for s in seen), 5,
                   what="the notice")
        with Client(realm.address) as client:
            stream = client.submit(chat_request("!sleep 0.5 watch me"))
            next(stream)
            wait_until(lambda: any(isinstance(s, RealmSnapshot) and any(k.kind == "chat" and k.running == 1
                                                                        for k in s.kinds) for s in seen),
                       5, what="a snapshot with chat running")
            list(stream)
        watching.join(10)


READS = {"ListWorkers", "ListPools", "ListQueue", "ListUsers", "ListTokens", "Stats", "ListAudit", "WatchRealm",
         "ListNetwork"}


def test_every_admin_change_is_audited_with_who_what_and_when(cluster):
    from mtor_client._proto.mtor.v1 import admin_pb2
    from mtor_client.admin import Pool

    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=1)
    started = time.time()
    with realm.admin() as admin, Client(realm.address) as client:
        admin.create_user("alice")
        admin.set_role("alice", "user")
        prefix = admin.create_token("alice").info.prefix
        admin.revoke_token(prefix)
        admin.set_quota("alice", requests_per_minute=5)
        admin.ban("alice", "audit test")
        admin.unban("alice")
        admin.terminate("alice")
        admin.broadcast("hello")
        admin.set_pool(Pool("p", "chat", ("w1",)))
        admin.delete_pool("p")
        running = client.submit(chat_request("!sleep 5"))
        running_id = next(running).intent_id
        admin.cancel_intent(running_id)
        admin.clear_queue()
        admin.drain_worker("w1")
        admin.blacklist_worker("w1")
        admin.readmit_worker("w1")
        admin.remove_worker("w1")
        entries = admin.audit(limit=50)
    changes = {m.name for m in admin_pb2.DESCRIPTOR.services_by_name["Admin"].methods} - READS
    assert {e.action for e in entries} == changes
    assert all(e.actor == "sysop" and e.time.timestamp() >= started - 1 for e in entries)
    by_action = {e.action: e for e in entries}
    assert by_action["BanUser"].target == "alice" and "audit test" in by_action["BanUser"].detail
    assert by_action["CancelIntent"].target == running_id and by_action["RevokeToken"].target == prefix
