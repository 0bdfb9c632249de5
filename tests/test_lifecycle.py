"""An intent's state machine on its own: every legal move, the events it returns in order, and the moves it
refuses."""
from __future__ import annotations

import pytest
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_server.lifecycle import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Accepted,
    Assigned,
    Composing,
    Finished,
    IllegalTransition,
    Life,
    Phase,
    Progressed,
    Queued,
    Relayed,
    Retried,
    Started,
)

RESULT = intent_pb2.IntentResult(model="m1")
ERROR = intent_pb2.Error(code=1, message="cancelled")


def running() -> Life:
    life = Life("i1")
    life.accept(3)
    life.assign("w1", "wid", 10.0)
    life.start("w1", "r1")
    return life


def test_a_queued_intent_is_accepted_moves_in_the_queue_and_is_assigned_then_started():
    life = Life("i1")
    assert life.state == QUEUED and life.phase is Phase.QUEUED
    assert life.accept(3) == [Accepted(3)] and life.position == 3
    assert life.move(3, 5) == []  # the same place: nothing to tell
    assert life.move(1, 5) == [Queued(1, 5)] and life.position == 1
    assert life.assign("w1", "wid", 10.0) == [Assigned("w1", 1, "i1/1", 10.0)]
    assert (life.phase, life.state, life.attempts, life.worker_id, life.position) == \
        (Phase.ASSIGNED, RUNNING, 1, "wid", 0)
    assert life.active and life.started_at == 10.0
    assert life.start("w1", "r1") == [Started("w1", "r1", 1)]
    assert life.phase is Phase.RUNNING


def test_a_peer_realm_names_its_worker_and_may_name_another_when_it_retries_there():
    life = Life("i1")
    life.assign("peer", "pid", 1.0)
    assert life.start("there-w1", "there", "cheapest") == [Started("there-w1", "there", 1, "cheapest")]
    assert life.start("there-w2", "there", "cheapest") == [Started("there-w2", "there", 1, "cheapest")]
    assert life.worker == "there-w2"


def test_progress_only_while_an_attempt_is_out():
    life = Life("i1")
    delta = intent_pb2.Delta(text="a")
    with pytest.raises(IllegalTransition):
        life.progress(delta)
    life.assign("w1", "wid", 1.0)
    assert life.progress(delta) == [Progressed(delta)]


def test_a_lost_attempt_goes_back_to_the_queue_and_the_next_one_counts_on():
    life = running()
    assert life.retry("worker w1 lost") == [Retried(2, "worker w1 lost")]
    assert (life.phase, life.assignment, life.worker, life.worker_id) == (Phase.QUEUED, "", "", "")
    assert life.assign("w2", "wid2", 20.0) == [Assigned("w2", 2, "i1/2", 20.0)]


@pytest.mark.parametrize("state, result, error", [(SUCCEEDED, RESULT, None), (FAILED, None, ERROR)])
def test_a_running_intent_succeeds_or_fails_once(state, result, error):
    life = running()
    assert life.finish(state, 30.0, result=result, error=error) == [
        Finished(state, result, error, 30.0, 10.0, Phase.RUNNING)]
    assert life.done and life.state == state and life.finished_at == 30.0
    assert (life.result, life.error) == (result, error)


def test_a_queued_intent_is_cancelled_and_says_it_was_queued():
    life = Life("i1")
    assert life.finish(CANCELLED, 5.0, error=ERROR) == [Finished(CANCELLED, None, ERROR, 5.0, None, Phase.QUEUED)]


def test_the_realm_composes_an_intent_itself_and_relays_its_steps():
    life = Life("i1")
    life.accept()
    assert life.compose(2.0) == [Composing(1, 2.0)]
    assert (life.phase, life.state, life.worker) == (Phase.RUNNING, RUNNING, "")
    started = intent_pb2.Started(worker="w1")
    assert life.relay("started", started) == [Relayed("started", started)]
    assert life.finish(SUCCEEDED, 3.0, result=RESULT)[0].state == SUCCEEDED


def test_after_a_restart_a_running_intent_is_interrupted_and_retried_or_composed_again():
    life = Life.recovered("i1", RUNNING, 2)
    assert (life.phase, life.state, life.attempts) == (Phase.INTERRUPTED, RUNNING, 2)
    assert life.accept() == [Accepted(0)]
    assert life.retry("the realm restarted") == [Retried(3, "the realm restarted")]
    composed = Life.recovered("i2", RUNNING, 1)
    assert composed.compose(4.0, retry_reason="the realm restarted") == [
        Retried(2, "the realm restarted"), Composing(2, 4.0)]
    assert Life.recovered("i3", QUEUED, 0).phase is Phase.QUEUED


def test_an_interrupted_intent_can_be_cancelled_but_not_succeed():
    life = Life.recovered("i1", RUNNING, 1)
    with pytest.raises(IllegalTransition):
        life.finish(SUCCEEDED, 1.0, result=RESULT)
    assert life.finish(CANCELLED, 1.0, error=ERROR)[0].was is Phase.INTERRUPTED


@pytest.mark.parametrize("outcome", [SUCCEEDED, FAILED, CANCELLED])
def test_a_finished_intent_refuses_every_move(outcome):
    life = running()
    life.finish(outcome, 1.0, result=RESULT if outcome == SUCCEEDED else None, error=ERROR)
    moves = [lambda: life.finish(SUCCEEDED, 2.0, result=RESULT),  # a result after the cancel
             lambda: life.finish(FAILED, 2.0, error=ERROR),  # a second outcome
             lambda: life.finish(CANCELLED, 2.0, error=ERROR),
             lambda: life.assign("w2", "wid2", 2.0),  # a start of a finished intent
             lambda: life.start("w2", "r1"),
             lambda: life.compose(2.0),
             lambda: life.retry("lost"),
             lambda: life.progress(intent_pb2.Delta()),
             lambda: life.relay("started", intent_pb2.Started()),
             lambda: life.move(1, 1),
             lambda: life.accept()]
    for move in moves:
        with pytest.raises(IllegalTransition):
            move()
    assert life.state == outcome and life.finished_at == 1.0


def test_illegal_moves_of_an_unfinished_intent_are_refused():
    life = Life("i1")
    for move in (lambda: life.start("w1", "r1"), lambda: life.retry("lost"),
                 lambda: life.finish(SUCCEEDED, 1.0, result=RESULT), lambda: life.relay("queued", None)):
        with pytest.raises(IllegalTransition):
            move()
    life.accept()
    with pytest.raises(IllegalTransition):
        life.accept()  # accepted once
    life.assign("w1", "wid", 1.0)
    for move in (lambda: life.assign("w2", "wid2", 2.0), lambda: life.compose(2.0), lambda: life.move(1, 1),
                 lambda: life.finish(SUCCEEDED, 2.0), lambda: life.finish(QUEUED, 2.0)):
        with pytest.raises(IllegalTransition):
            move()
    assert (life.phase, life.attempts) == (Phase.ASSIGNED, 1)
