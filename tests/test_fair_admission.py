"""Fair admission: a full queue refuses the user above their share first and still admits a light user.

The queue's pure core (mtor_server/queue/fair.py), then a real realm and echo worker where one user
keeps the queue full and another's intents are all admitted and served.
"""
from __future__ import annotations

import asyncio
import random

import pytest
from mtor_client import AsyncClient, ResourceExhausted
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_server.queue import FairQueue, QueueFull


def admit(q: FairQueue, intent_id: str, user: str) -> None:
    """What Intake.submit does: reserve a place, record the intent (give the reservation back), queue it."""
    q.reserve(user)
    q.release(user)
    q.push(intent_id, user)


def test_a_full_queue_admits_users_below_their_share_and_refuses_the_rest():
    q = FairQueue(max_depth=4)
    for i in range(4):
        admit(q, f"a{i}", "alice")
    with pytest.raises(QueueFull) as e:
        q.reserve("alice")
    assert (e.value.held, e.value.depth, e.value.users) == (4, 4, 1)
    assert "you hold 4 of them, your share or more (4 / 1 users = 4)" in e.value.reason
    admit(q, "b0", "bob")  # bob's share of the full queue: 4 / 2 users = 2 places
    admit(q, "b1", "bob")
    for who in ("bob", "alice"):
        with pytest.raises(QueueFull):
            q.reserve(who)
    admit(q, "c0", "carol")  # 4 / 3 users: 1.33 places each
    admit(q, "c1", "carol")
    with pytest.raises(QueueFull) as e:
        q.reserve("carol")
    assert (e.value.held, e.value.users) == (2, 3)
    with pytest.raises(QueueFull) as e:  # 8 places held: the ceiling, twice max_depth, holds for anyone
        q.reserve("dave")
    assert e.value.depth == q.ceiling == 8 and "twice queue.max_depth (4), from 4 users" in e.value.reason
    assert len(q) == 8 and [q.held(u) for u in ("alice", "bob", "carol", "dave")] == [4, 2, 2, 0]


def test_served_intents_make_room_for_anyone_and_a_user_holding_nothing_is_not_counted():
    q = FairQueue(max_depth=2)
    admit(q, "a0", "alice")
    admit(q, "a1", "alice")
    admit(q, "b0", "bob")  # full, but bob held nothing
    q.take("a0")
    q.take("b0")
    assert q.held("bob") == 0 and len(q) == 1
    admit(q, "a2", "alice")  # below max_depth: anyone, whatever they hold
    with pytest.raises(QueueFull) as e:  # bob holds nothing, so the share is 2 / 1 user
        q.reserve("alice")
    assert e.value.users == 1


def test_a_place_is_held_once_from_reservation_to_service():
    q = FairQueue(max_depth=3)
    q.reserve("alice")
    assert q.held("alice") == 1
    q.release("alice")
    q.push("a0", "alice")  # reserved, recorded, then queued: one place, not two
    assert q.held("alice") == 1
    q.release("alice")  # nothing reserved: it does not give back the queued intent's place
    assert q.held("alice") == 1
    q.push_front("lost", "alice")  # a retry holds a place too
    assert q.held("alice") == 2
    assert q.remove("lost") and not q.remove("lost")
    q.take("a0")
    assert q.held("alice") == 0 and len(q) == 0
    for _ in range(3):
        q.reserve("bob")  # reservations alone fill the queue
    with pytest.raises(QueueFull):
        q.reserve("bob")
    q.reserve("carol")


def test_random_traffic_keeps_the_books_and_the_promise():
    """Seeded random reserve/release/push/take/remove/push_front against a model of who holds what:
    the queue's count per user matches it, nobody below their share of a full queue is refused,
    nobody above it is admitted, and the places held never pass the ceiling."""
    rng = random.Random(12)
    users = [f"u{i}" for i in range(5)]
    q = FairQueue(max_depth=10)
    owner: dict[str, str] = {}  # queued intent -> user
    reserved: dict[str, int] = {u: 0 for u in users}
    refused = admitted_over_full = 0
    for step in range(20000):
        user = rng.choice(users[:2] if rng.random() < 0.6 else users)  # two heavy users
        op = rng.random()
        if op < 0.45:
            held = sum(1 for o in owner.values() if o == user) + reserved[user]
            depth = len(owner) + sum(reserved.values())
            holders = len({*owner.values(), *(u for u, n in reserved.items() if n)} | {user})
            allowed = depth < q.max_depth or (depth < q.ceiling and held * holders < q.max_depth)
            try:
                q.reserve(user)
            except QueueFull:
                assert not allowed, (step, user, held, depth, holders)
                refused += 1
            else:
                assert allowed, (step, user, held, depth, holders)
                admitted_over_full += depth >= q.max_depth
                reserved[user] += 1
        elif op < 0.65 and reserved[user]:
            q.release(user)
            reserved[user] -= 1
            if rng.random() < 0.8:
                owner[f"i{step}"] = user
                q.push(f"i{step}", user)
        elif op < 0.9 and owner:
            intent_id = next(iter(q)) if rng.random() < 0.8 else rng.choice(list(owner))
            q.take(intent_id) if rng.random() < 0.7 else q.remove(intent_id)
            del owner[intent_id]
        elif op < 0.92 and owner:
            intent_id = rng.choice(list(owner))
            q.remove(intent_id)
            q.push_front(intent_id, owner[intent_id])
        for u in users:
            assert q.held(u) == sum(1 for o in owner.values() if o == u) + reserved[u], (step, u)
        assert len(q) == len(owner) and len(owner) + sum(reserved.values()) <= q.ceiling
    assert refused > 100 and admitted_over_full > 100  # both sides of the rule were exercised


MAX_DEPTH = 6


def test_one_user_keeping_the_queue_full_does_not_shut_out_another(cluster):
    realm = cluster.realm({"MTOR_QUEUE_MAX_DEPTH": str(MAX_DEPTH)})
    cluster.worker(realm, concurrency=1)
    alice_token, bob_token = realm.new_user("alice"), realm.new_user("bob")

    def chat_depth() -> int:
        return next(k.queue_depth for k in realm.describe().kinds if k.kind == intent_pb2.KIND_CHAT)

    async def scenario() -> tuple[list[str], list[str], int]:
        refusals: list[str] = []
        async with AsyncClient(realm.address, token=alice_token) as alice, \
                AsyncClient(realm.address, token=bob_token) as bob:
            stop = asyncio.Event()

            async def flood() -> None:
                """One of alice's loops: an intent at a time, resubmitted as soon as it ends or is refused."""
                while not stop.is_set():
                    try:
                        await alice.chat("!sleep 0.05 flood", timeout=30)
                    except ResourceExhausted as e:
                        refusals.append(e.message)
                        await asyncio.sleep(0.005)

            floods = [asyncio.create_task(flood()) for _ in range(2 * MAX_DEPTH)]
            for _ in range(500):  # alice has filled the queue and is being refused
                if refusals and await asyncio.to_thread(chat_depth) == MAX_DEPTH:
                    break
                await asyncio.sleep(0.02)
            assert refusals and await asyncio.to_thread(chat_depth) == MAX_DEPTH
            refused_before = len(refusals)
            # bob's share of the full queue is MAX_DEPTH / 2 places: he keeps that many waiting, round after round
            answers: list[str] = []
            for round_ in range(4):
                results = await asyncio.gather(*(bob.chat(f"bob {round_}.{i}", timeout=30)
                                                 for i in range(MAX_DEPTH // 2)))
                answers += [r.text for r in results]
            refused_during = len(refusals) - refused_before
            stop.set()
            await asyncio.wait_for(asyncio.gather(*floods), 30)
        return answers, refusals, refused_during

    answers, refusals, refused_during = asyncio.run(scenario())
    assert answers == [f"echo: bob {r}.{i}" for r in range(4) for i in range(MAX_DEPTH // 2)]
    assert refused_during > 0  # alice kept the queue full all along: bob was admitted to a full queue
    assert "chat queue is full, try again later: " in refusals[-1] and "your share or more" in refusals[-1]
