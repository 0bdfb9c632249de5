"""converse: the realm carries out transcribe -> chat -> speak, each step on
whichever worker serves it, and streams the transcript, the answer and the
speech back as one intent. Echo workers here; real models in test_models."""
from __future__ import annotations

import io
import wave

import pytest
from harness import wait_until
from mtor_client import Cancelled, Client, ConversationResult, Delta, Failed, Finished, InvalidArgument, Started
from mtor_client import _convert as conv


def wav(seconds: float = 0.2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return out.getvalue()


def test_converse_composes_three_steps_and_streams_each_stage(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", delay=0.01)
    events = []
    audio = wav()
    with Client(realm.address) as client:
        result = client.converse(audio, format="wav", history=[("user", "hi"), ("assistant", "hello")],
                                 on_event=events.append, timeout=60)
        info = client.get(result.intent_id)
    heard = f"echo: {len(audio)} bytes of audio"
    assert isinstance(result, ConversationResult) and result.kind == "converse"
    assert result.transcript.text == heard
    assert result.answer.text == f"echo: {heard}"  # the chat step answered the transcribed question
    assert result.audio.wav.startswith(b"RIFF") and result.audio.duration_s > 0
    assert result.usage.cost == pytest.approx(3 * 0.01, abs=0.005)  # three steps billed, queue wait not
    stages = [(e.stage, e.text) for e in events if isinstance(e, Delta)]
    assert [t for s, t in stages if s == "transcribe" and t] == [heard]  # the transcript, once heard
    assert [s for s, _ in stages][0] == "transcribe"
    assert "".join(t for s, t in stages if s == "chat") == result.answer.text
    assert [s for s, _ in stages][-1] == "speak"
    assert len([e for e in events if isinstance(e, Started)]) == 3
    assert [e for e in events if isinstance(e, (Finished, Failed))] == [events[-1]]
    assert info.state == "succeeded" and info.kind == "converse"


def test_cancelling_a_converse_cancels_its_running_step(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", delay=0.5)
    with Client(realm.address) as client:
        events = client.submit(conv.converse_request(wav(), format="wav"))
        intent_id = next(events).intent_id
        for event in events:
            if isinstance(event, Delta) and event.stage == "chat":
                break  # the answer has started to stream
        assert client.cancel(intent_id) == "cancelled"
        end = list(events)[-1]
        assert isinstance(end, Failed) and isinstance(end.error, Cancelled)
    wait_until(lambda: realm.describe().running == 0, 5, what="the chat step to stop on its worker")


def test_converse_needs_audio_and_a_step_failure_fails_it_clearly(cluster):
    realm = cluster.realm({"MTOR_QUEUE_MAX_WAIT_S": "1"})
    with Client(realm.address) as client:
        request = conv.converse_request(b"x")
        request.converse.audio = b""
        with pytest.raises(InvalidArgument) as e:
            next(client.submit(request))
        assert "converse.audio is empty" in e.value.message
        # no worker serves transcribe: the first step waits, gives up, and the converse says which step
        end = list(client.submit(conv.converse_request(wav(), format="wav")))[-1]
        assert isinstance(end, Failed) and "transcribe step" in end.error.message


def test_a_converse_survives_a_realm_restart(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", delay=0.3)
    with Client(realm.address) as client:
        events = client.submit(conv.converse_request(wav(), format="wav"))
        intent_id = next(events).intent_id
        for event in events:
            if isinstance(event, Delta) and event.stage == "chat":
                break
    realm.proc.kill9()
    realm = cluster.restart(realm)
    with Client(realm.address) as client:
        result = client.wait(intent_id, timeout=60)
        assert isinstance(result, ConversationResult) and result.answer.text.startswith("echo: echo: ")
        assert client.get(intent_id).state == "succeeded"


def test_the_realm_stops_promptly_with_a_converse_in_flight(cluster):
    realm = cluster.realm()
    with Client(realm.address) as client:
        events = client.submit(conv.converse_request(wav(), format="wav"))
        next(events)  # accepted; its transcribe step waits for a worker that never comes
    assert realm.proc.terminate(timeout=15) == 0
