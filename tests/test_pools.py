"""Pool aliases: each strategy picks as specified; through a real realm, a
client targets `$NAME`, specialisations steer matching prompts, pools
survive restarts and a deleted pool fails what waits for it."""
from __future__ import annotations

import pytest
from mtor_client import Client, Failed, InvalidArgument, NotFound
from mtor_client._convert import chat_request
from mtor_client._proto.mtor.v1 import admin_pb2
from mtor_client.admin import Pool, Specialisation
from test_realm_parts import worker

from mtor_server.scheduler.pools import auto_strategy, choose


def pool(strategy: int) -> admin_pb2.Pool:
    return admin_pb2.Pool(name="p", kind=1, workers=["a", "b", "c"], strategy=strategy)


def test_each_strategy_picks_as_specified():
    a, b, c = worker("a", score=90, running=3), worker("b", score=100, running=2), worker("c", score=60, running=0)
    members = [a, b, c]
    assert choose(pool(admin_pb2.POOL_STRATEGY_HEALTH), members, 0) is b
    assert choose(pool(admin_pb2.POOL_STRATEGY_LEAST_BUSY), members, 0) is c
    assert [choose(pool(admin_pb2.POOL_STRATEGY_ROUND_ROBIN), members, t).name for t in range(4)] == \
        ["a", "b", "c", "a"]
    picked = {choose(pool(admin_pb2.POOL_STRATEGY_RANDOM), members, 0).name for _ in range(200)}
    assert picked == {"a", "b", "c"}


def test_auto_follows_the_originals_rules():
    assert auto_strategy([100, 50]) == admin_pb2.POOL_STRATEGY_HEALTH  # variance 625 > 400
    assert auto_strategy([60, 65, 62]) == admin_pb2.POOL_STRATEGY_LEAST_BUSY  # mean < 70, variance small
    assert auto_strategy([100, 90, 80]) == admin_pb2.POOL_STRATEGY_ROUND_ROBIN
    busy, idle = worker("a", score=60, running=3), worker("b", score=64, running=0)
    assert choose(pool(admin_pb2.POOL_STRATEGY_AUTO), [busy, idle], 0) is idle


def test_a_client_targets_a_pool_and_specialists_get_their_topic(cluster):
    realm = cluster.realm()
    for name in ("w1", "w2", "w3"):
        cluster.worker(realm, name, concurrency=1)
    with realm.admin() as admin:
        admin.set_pool(Pool("fast", "chat", ("w1", "w2"), "round_robin",
                            (Specialisation("code", ("python", "rust"), ("w2",)),)))
        assert admin.pools()[0].specialisations[0].workers == ("w2",)
    with Client(realm.address) as client:
        turns = [client.chat(f"hello {i}", model="$fast", timeout=10).worker for i in range(4)]
        assert sorted(turns) == ["w1", "w1", "w2", "w2"] and turns[0] != turns[1]  # in turn, never w3
        assert {client.chat(f"Write Python, take {i}", model="$fast", timeout=10).worker for i in range(3)} == {"w2"}
        result = client.chat("which model?", model="$fast", timeout=10)
        assert result.text == "echo: which model?"  # the member ran its own model, not "$fast"
        with pytest.raises(NotFound) as e:
            client.chat("hi", model="$nowhere", timeout=10)
        assert "no pool named '$nowhere'" in e.value.message
        with pytest.raises(InvalidArgument) as e:
            client.speak("hi", model="$fast", timeout=10)
        assert "serves chat, not speak" in e.value.message


def test_pools_are_checked_kept_across_restarts_and_deleting_one_fails_its_queue(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=1)
    with realm.admin() as admin:
        with pytest.raises(InvalidArgument) as e:
            admin.set_pool(Pool("bad", "chat", ("w1",), specialisations=(Specialisation("x", ("y",), ("w9",)),)))
        assert "outside the pool: w9" in e.value.message
        with pytest.raises(InvalidArgument):
            admin.set_pool(Pool("empty", "chat", ()))
        admin.set_pool(Pool("solo", "chat", ("w1",), "health"))
    realm.proc.terminate()
    realm = cluster.restart(realm)
    realm.wait_workers(1)
    with realm.admin() as admin, Client(realm.address) as client:
        assert [(p.name, p.strategy) for p in admin.pools()] == [("solo", "health")]
        busy = client.submit(chat_request("!sleep 2 busy"))
        next(busy), next(busy)
        request = chat_request("waits for the pool")
        request.model = "$solo"
        waiting = client.submit(request)
        next(waiting)
        admin.delete_pool("solo")
        end = list(waiting)[-1]
        assert isinstance(end, Failed) and isinstance(end.error, NotFound) and "was deleted" in end.error.message
        assert [e.action for e in admin.audit()][:1] == ["DeletePool"]
        list(busy)
