"""chat through a realm and a llama.cpp worker, on a tiny random-weight GGUF
that the test writes itself: the real loading and inference code, fast, with
meaningless (but deterministic at temperature 0) output."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from conftest import Cluster
from harness import Realm
from mtor_client import Client, Delta, Finished
from tiny.gguf import build_tiny_llama_gguf

PROMPT = "Say something."
LLAMA = {"MTOR_LLAMA_THREADS": "1"}  # tiny model: one thread is plenty on a shared machine


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama_gguf(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture(scope="module")
def realm(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    cluster = Cluster(tmp_path_factory.mktemp("tiny-chat"))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "tiny", backends="llama", env={**LLAMA, "MTOR_LLAMA_MODEL": str(model)})
        yield realm
    finally:
        cluster.stop()


def chat(realm: Realm, max_tokens: int = 24, **kwargs):
    with Client(realm.address) as client:
        return client.chat(PROMPT, temperature=0.0, max_tokens=max_tokens, timeout=60, **kwargs)


def test_the_file_is_small_and_the_same_every_time(model: Path, tmp_path: Path):
    again = build_tiny_llama_gguf(tmp_path / model.name)
    assert model.read_bytes() == again.read_bytes()
    assert 100_000 < model.stat().st_size < 5_000_000


def test_chat_streams_deltas_then_a_result_that_is_their_text(realm):
    events = []
    result = chat(realm, on_event=events.append)
    deltas = [i for i, e in enumerate(events) if isinstance(e, Delta)]
    assert len(deltas) > 1 and max(deltas) < len(events) - 1 and isinstance(events[-1], Finished)
    assert "".join(events[i].text for i in deltas) == result.text
    assert result.text.strip() and result.text.isascii() and result.text.isprintable(), result.text
    assert (result.kind, result.model, result.worker) == ("chat", "tiny-llama", "tiny")


def test_the_realm_advertises_the_file_stem_as_the_model(realm):
    with Client(realm.address) as client:
        chat_kinds = [k for k in client.describe().kinds if k.kind == "chat"]
        assert [(k.workers, k.models) for k in chat_kinds] == [(1, ("tiny-llama",))]
        assert client.chat(PROMPT, model="tiny-llama", max_tokens=2, timeout=60).model == "tiny-llama"


def test_max_tokens_bounds_the_answer_and_greedy_decoding_repeats_itself(realm):
    short, long, again = chat(realm, 3), chat(realm, 16), chat(realm, 16)
    assert 0 < short.tokens <= 3 and 3 < long.tokens <= 16, (short, long)
    assert long.text.startswith(short.text) and len(long.text) > len(short.text)
    assert again.text == long.text


def test_stop_ends_the_answer_before_the_stop_text(realm):
    full = chat(realm).text
    stop = full[len(full) // 2:len(full) // 2 + 2]
    cut = full.find(stop)
    assert len(stop) == 2 and cut > 0, full
    stopped = chat(realm, stop=stop)
    assert stopped.text == full[:cut] and stop not in stopped.text, (full, stop, stopped.text)


def test_a_configured_name_is_the_model_name(model: Path, cluster: Cluster):
    realm = cluster.realm()
    cluster.worker(realm, "named", backends="llama",
                   env={**LLAMA, "MTOR_LLAMA_MODEL": str(model), "MTOR_LLAMA_NAME": "tiny-chat"})
    assert [(k.kind, list(k.models)) for k in realm.describe().kinds] == [(1, ["tiny-chat"]), (7, ["tiny-chat"])]
    with Client(realm.address) as client:
        assert client.chat(PROMPT, model="tiny-chat", max_tokens=4, timeout=60).model == "tiny-chat"


def test_a_corrupt_gguf_is_a_failed_load_and_the_rest_is_served(model: Path, cluster: Cluster, tmp_path: Path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(model.read_bytes()[:model.stat().st_size // 2])  # header intact, tensor data cut short
    realm = cluster.realm()
    worker = cluster.worker(realm, "partial", backends="llama,echo",
                            env={**LLAMA, "MTOR_LLAMA_MODEL": str(broken), "MTOR_LLAMA_NAME": "tiny-broken"})
    log = worker.output()
    assert "backend llama failed to load" in log and f"could not load {broken}" in log, log
    assert all("tiny-broken" not in k.models for k in realm.describe().kinds)  # only echo's "any model"
    with Client(realm.address) as client:
        result = client.chat("still here", max_tokens=4, timeout=60)
    assert (result.text, result.worker) == ("echo: still here", "partial")


def test_the_sdk_passes_top_p_and_seed_and_reads_prompt_tokens_and_finish_reason(realm):
    with Client(realm.address) as client:
        def sampled(seed: int):
            return client.chat(PROMPT, temperature=1.0, top_p=0.9, seed=seed, max_tokens=12, timeout=60)

        first, same, other = sampled(7), sampled(7), sampled(8)
    assert first.text == same.text and first.text != other.text, (first.text, other.text)
    assert first.prompt_tokens > 0 and first.finish_reason == "length" and first.tokens == 12
