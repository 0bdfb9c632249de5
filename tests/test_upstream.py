"""An OpenAI-compatible engine joins the realm as a worker: the upstream
backend against a real llama.cpp server (llama_cpp.server) on 127.0.0.1."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm, wait_until
from mtor_client import Client, Delta, Finished, Internal

from mtor_worker import starter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("engine") / "server.log"
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(starter.chat_model()),
                               "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "Uvicorn running" in log.read_text() or server.poll() is not None, 60,
                   what="llama_cpp.server to listen")
        assert server.poll() is None, log.read_text()
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def realm(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    cluster = Cluster(tmp_path_factory.mktemp("upstream"))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "vllm-box", backends="upstream", env={"MTOR_UPSTREAM_URL": engine})
        yield realm
    finally:
        cluster.stop()


def test_chat_streams_through_the_upstream_engine(realm):
    kinds = realm.describe().kinds
    assert [(k.kind, list(k.models)) for k in kinds] == [(1, ["smollm2"])]  # its /models, advertised
    events = []
    with Client(realm.address) as client:
        result = client.chat("What is the capital of France?", model="smollm2", temperature=0.0, max_tokens=32,
                             on_event=events.append, timeout=120)
    assert result.worker == "vllm-box" and result.model == "smollm2" and result.text.strip()
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert len(deltas) > 1 and "".join(deltas) == result.text and isinstance(events[-1], Finished)


def test_an_upstream_failure_is_reported_and_the_worker_keeps_serving(realm):
    with Client(realm.address) as client:
        with pytest.raises(Internal) as e:  # far beyond the engine's context window: it gives up mid-stream
            client.chat("word " * 5000, model="smollm2", max_tokens=4, timeout=120)
        assert "ended the stream before it finished" in e.value.message
        assert client.chat("Hello", model="smollm2", max_tokens=4, timeout=120).text


def test_an_unreachable_upstream_is_not_served(tmp_path: Path):
    cluster = Cluster(tmp_path)
    try:
        realm = cluster.realm()
        worker = cluster.worker(realm, "nowhere", backends="upstream,echo",
                                env={"MTOR_UPSTREAM_URL": f"http://127.0.0.1:{free_port()}/v1"})
        assert "unreachable" in worker.output() or "Connection refused" in worker.output()
        chat = next(k for k in realm.describe().kinds if k.kind == 1)
        assert chat.workers == 1 and list(chat.models) == []  # echo's "any model", not an upstream's list
    finally:
        cluster.stop()
