"""Accounting on a real realm: the ledger against the intents served, rates
per kind, quotas that trip and recover, usage as users and the sysop see it."""
from __future__ import annotations

import asyncio
import math
import time

import pytest
from mtor_client import AsyncClient, Client, Failed, Finished, ResourceExhausted
from mtor_client._convert import chat_request, speak_request


def test_the_ledger_matches_a_burst_of_200_mixed_intents(cluster):
    realm = cluster.realm({"MTOR_QUEUE_MAX_DEPTH": "200"})  # the whole burst may be waiting at once
    cluster.worker(realm, "w1", concurrency=8)
    cluster.worker(realm, "w2", concurrency=8)
    tokens = {name: realm.new_user(name) for name in ("alice", "bob")}
    outcomes: dict[str, list[object]] = {"alice": [], "bob": []}

    async def one(client: AsyncClient, user: str, i: int) -> None:
        if i % 10 == 3:  # cancelled while running
            stream = client.submit(chat_request(f"!sleep 5 {i}"))
            accepted = await anext(stream)
            await anext(stream)  # started
            await client.cancel(accepted.intent_id)
            async for event in stream:
                last = event
        else:
            request = chat_request(f"!fail {i}") if i % 10 == 7 else \
                speak_request(f"say {i}") if i % 2 else chat_request(f"hello {i}")
            async for event in client.submit(request):
                last = event
        outcomes[user].append(last)

    async def burst() -> None:
        async with AsyncClient(realm.address, token=tokens["alice"]) as alice, \
                AsyncClient(realm.address, token=tokens["bob"]) as bob:
            await asyncio.gather(*(one(alice if i % 2 else bob, "alice" if i % 2 else "bob", i)
                                   for i in range(200)))

    asyncio.run(burst())
    served = [o for user in outcomes.values() for o in user]
    assert len(served) == 200
    succeeded = [o.result for o in served if isinstance(o, Finished)]
    failed = [o.error for o in served if isinstance(o, Failed)]
    assert len(succeeded) == 160 and len(failed) == 40  # 20 cancelled, 20 failed
    with realm.admin() as admin:
        stats = admin.stats()
    assert stats.realm.intents == 200
    assert math.isclose(stats.realm.cost, sum(r.usage.cost for r in succeeded), rel_tol=1e-9)
    chat, speak = stats.realm.kind("chat"), stats.realm.kind("speak")
    assert (chat.intents, chat.succeeded, speak.intents, speak.succeeded) == (140, 100, 60, 60)
    for kind in (chat, speak):
        times = [r.usage.processing_s for r in succeeded if r.kind == kind.kind]
        assert math.isclose(kind.mean_service_s, sum(times) / len(times), rel_tol=1e-9)
    # the cancelled intents ran about a second or more before their cancel: recorded, not billed
    assert stats.realm.processing_s > sum(r.usage.processing_s for r in succeeded)
    for user in ("alice", "bob"):
        mine = [o.result for o in outcomes[user] if isinstance(o, Finished)]
        with Client(realm.address, token=tokens[user]) as client:
            usage = client.usage()
        assert usage.user == user and usage.intents == 100 == stats.user(user).intents
        assert math.isclose(usage.cost, sum(r.usage.cost for r in mine), rel_tol=1e-9)
    assert [u.user for u in stats.users] == ["alice", "bob"]


def test_costs_follow_the_rates_of_each_kind_and_only_successes_are_billed(cluster):
    realm = cluster.realm({"MTOR_COSTS_CHAT_BASE": "1", "MTOR_COSTS_CHAT_PER_SECOND": "0",
                           "MTOR_COSTS_SPEAK_BASE": "0", "MTOR_COSTS_SPEAK_PER_SECOND": "100"})
    cluster.worker(realm)
    with Client(realm.address, token=realm.new_user("alice")) as alice:
        chat = alice.chat("!sleep 0.3 hi", timeout=10)
        spoken = alice.speak("!sleep 0.2 hello", timeout=10)
        with pytest.raises(Exception):
            alice.chat("!fail", timeout=10)
        usage = alice.usage()
    assert chat.usage.cost == 1.0  # base only
    assert spoken.usage.cost == pytest.approx(100 * spoken.usage.processing_s) and spoken.usage.cost >= 20
    assert usage.kind("chat").cost == 1.0 and usage.kind("chat").intents == 2 and usage.kind("chat").succeeded == 1
    assert usage.cost == pytest.approx(1.0 + spoken.usage.cost)
    assert usage.kind("chat").queue_wait_s >= 0 and usage.kind("speak").mean_service_s >= 0.2


def test_a_rate_limit_trips_says_when_to_retry_and_lifts(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    token = realm.new_user("alice")
    with realm.admin() as admin:
        status = admin.set_quota("alice", requests_per_minute=3)
        assert status.requests_per_minute == 3
        with Client(realm.address, token=token) as alice:
            for i in range(3):
                alice.chat(f"hi {i}", timeout=10)
            with pytest.raises(ResourceExhausted) as e:
                alice.chat("one too many", timeout=10)
            assert "3 intents per minute" in e.value.message and 0 < e.value.retry_after_s <= 60
            with Client(realm.address, token=realm.new_user("bob")) as bob:  # others are not limited
                assert bob.chat("fine", timeout=10).text == "echo: fine"
            admin.set_quota("alice")  # back to the realm's default: no limit
            assert alice.chat("again", timeout=10).text == "echo: again"
        assert [e.action for e in admin.audit()][:2] == ["SetQuota", "CreateToken"]


def test_a_budget_trips_and_renews_with_the_next_period(cluster):
    realm = cluster.realm({"MTOR_QUOTAS_BUDGET": "0.015", "MTOR_QUOTAS_BUDGET_PERIOD_S": "3"})
    cluster.worker(realm)
    with Client(realm.address, token=realm.new_user("alice")) as alice:
        while True:  # start at the beginning of a period, so that two intents fit in it
            usage = alice.usage()
            if usage.quota.period_ends.timestamp() - time.time() > 2:
                break
            time.sleep(0.2)
        assert usage.quota.budget == 0.015 and usage.quota.spent == 0
        alice.chat("first", timeout=10)  # 0.01 and a little: under the budget when submitted
        alice.chat("second", timeout=10)  # admitted at 0.01..., now over
        with pytest.raises(ResourceExhausted) as e:
            alice.chat("third", timeout=10)
        assert "budget spent" in e.value.message and 0 < e.value.retry_after_s <= 3
        assert alice.usage().quota.spent > 0.015
        time.sleep(e.value.retry_after_s + 0.1)
        assert alice.chat("a new period", timeout=10).text == "echo: a new period"


def test_usage_survives_a_restart_and_presence_is_counted(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    tokens = [realm.new_user(name) for name in ("alice", "bob", "carol")]

    async def together() -> None:
        clients = [AsyncClient(realm.address, token=t) for t in tokens]
        streams = [c.submit(chat_request("!sleep 1 together")) for c in clients]
        await asyncio.gather(*(anext(s) for s in streams))
        with realm.admin() as admin:
            during = await asyncio.to_thread(admin.stats)
        assert during.users_connected == 3 and during.most_users_connected == 3
        for stream in streams:
            async for _ in stream:
                pass
        for client in clients:
            await client.close()

    asyncio.run(together())
    with realm.admin() as admin:
        before = admin.stats()
    assert before.realm.intents == 3 and before.users_connected == 0
    realm.proc.terminate()
    again = cluster.restart(realm)
    with again.admin() as admin:
        after = admin.stats()
    assert after.realm == before.realm and after.most_users_connected == 3
    with Client(again.address, token=tokens[1]) as bob:
        assert bob.whoami() == "bob" and bob.usage().intents == 1
    with Client(again.address) as anonymous:
        assert anonymous.whoami() == "anonymous"
