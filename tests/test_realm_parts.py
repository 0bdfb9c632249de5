"""The realm's small pure parts: health arithmetic, worker choice, fair queue order."""
from __future__ import annotations

import pytest

from mtor_server.health import HealthScore, Transition
from mtor_server.health.score import ERROR, FAILURE, SUCCESS
from mtor_server.queue import FairQueue, QueueFull
from mtor_server.scheduler import ConnectedWorker, pick_worker


def test_health_arithmetic_blacklists_at_zero_and_readmits_at_fifty():
    h = HealthScore()
    assert h.record(SUCCESS, 0) is None and h.score == 100  # capped at 100
    h.record(FAILURE, 0)
    h.record(ERROR, 0)
    assert h.score == 85
    for _ in range(8):
        assert h.record(FAILURE, 1.0) is None
    assert h.score == 5
    assert h.record(FAILURE, 2.0) is Transition.BLACKLISTED and h.score == 0 and h.blacklisted
    assert h.record(SUCCESS, 2.5) is None and h.score == 0  # outcomes wait for readmission
    assert h.heartbeat(True, False, 3.0, readmit_after_s=10) is None  # too soon
    assert h.heartbeat(False, False, 20.0, readmit_after_s=10) is None  # answers, but unhealthy
    assert h.heartbeat(True, False, 20.0, readmit_after_s=10) is Transition.READMITTED
    assert h.score == 50 and not h.blacklisted


def test_heartbeats_count_as_probes():
    h = HealthScore(score=60)
    h.heartbeat(True, False, 0, 10)
    assert h.score == 70
    h.heartbeat(True, True, 0, 10)  # late
    assert h.score == 65
    h.heartbeat(False, False, 0, 10)  # the worker reports itself unhealthy
    assert h.score == 55


def worker(name: str, *, score: int = 100, running: int = 0, slots: int = 4, kinds=("chat",),
           models: frozenset[str] = frozenset(), draining: bool = False) -> ConnectedWorker:
    w = ConnectedWorker(id=name, name=name, capabilities={k: models for k in kinds}, max_concurrency=slots,
                        devices=[], version="t", last_heartbeat=0.0, draining=draining)
    w.health.score = score
    w.running = {f"{name}-{i}": "x" for i in range(running)}
    return w


def test_pick_prefers_health_then_load_and_skips_the_ineligible():
    healthy_busy = worker("a", score=100, running=3)
    healthy_idle = worker("b", score=100, running=1)
    sick_idle = worker("c", score=40, running=0)
    assert pick_worker([sick_idle, healthy_busy, healthy_idle], "chat", "") is healthy_idle
    full = worker("d", running=4)
    draining = worker("e", draining=True)
    blacklisted = worker("f")
    blacklisted.health.blacklisted = True
    other_kind = worker("g", kinds=("speak",))
    assert pick_worker([full, draining, blacklisted, other_kind], "chat", "") is None
    assert pick_worker([full, draining, blacklisted, other_kind, sick_idle], "chat", "") is sick_idle


def test_pick_matches_models():
    llama = worker("llama", models=frozenset({"llama-3"}))
    anything = worker("any", score=10)
    assert pick_worker([llama, anything], "chat", "llama-3") is llama
    assert pick_worker([llama], "chat", "mistral") is None
    assert pick_worker([llama, anything], "chat", "mistral") is anything
    assert pick_worker([llama], "chat", "") is llama  # no model asked: any will do


def test_fair_queue_interleaves_users_and_retries_go_first():
    q = FairQueue(max_depth=10)
    for i in range(4):
        q.push(f"a{i}", "alice")
    q.push("b0", "bob")
    q.push("c0", "carol")
    q.push("b1", "bob")
    assert list(q) == ["a0", "b0", "c0", "a1", "b1", "a2", "a3"]
    q.take("a0")
    q.take("b0")
    q.push("c1", "carol")
    assert list(q) == ["c0", "a1", "b1", "c1", "a2", "a3"]
    q.push_front("lost", "dave")
    assert list(q)[0] == "lost" and q.positions()["a1"] == 3
    assert q.remove("a2") and not q.remove("a2")


def test_fair_queue_is_bounded_including_reservations():
    q = FairQueue(max_depth=2)
    q.push("x", "u")
    q.reserve("u")
    with pytest.raises(QueueFull):
        q.reserve("u")
    q.release("u")
    q.reserve("u")


def test_the_ready_index_picks_what_pick_worker_picks_as_workers_change():
    """A seeded run of joins, starts, ends, health changes, drains and losses: after each, the ranked index's
    pick equals a scan of every worker by pick_worker, for every kind and model asked."""
    import random

    from mtor_server.scheduler.ranking import ReadyIndex

    rng = random.Random(16)
    index, workers = ReadyIndex(), {}
    asks = [("chat", ""), ("chat", "llama"), ("chat", "qwen"), ("speak", ""), ("speak", "piper")]
    for step in range(3000):
        op = rng.random()
        if op < 0.15 or not workers:
            name = f"w{step}"
            models = rng.choice([frozenset(), frozenset({"llama"}), frozenset({"qwen", "llama"}), frozenset({"piper"})])
            kinds = rng.choice([("chat",), ("speak",), ("chat", "speak")])
            workers[name] = w = worker(name, kinds=kinds, models=models, slots=rng.randint(1, 4),
                                       score=rng.choice([100, 90, 50]))
        else:
            w = rng.choice(list(workers.values()))
            if op < 0.4 and w.free_slots:
                w.running[f"{step}"] = "x"
            elif op < 0.6 and w.running:
                del w.running[next(iter(w.running))]
            elif op < 0.75:
                w.health.score = rng.choice([100, 95, 80, 50, 10])
            elif op < 0.85:
                w.draining = not w.draining
            elif op < 0.9:
                w.health.blacklisted = not w.health.blacklisted
            else:
                index.remove(workers.pop(w.name))
                continue
        index.update(w)
        for kind, model in asks:
            assert index.best(kind, model) is pick_worker(workers.values(), kind, model), (step, kind, model)
        assert index.any_ready("chat") == (pick_worker(workers.values(), "chat", "") is not None)
