"""Worker pieces that need no realm: job execution outcomes, blocking
backends, routing, device parsing, backoff, message coalescing and the CLI's config layering."""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from mtor_client._proto.mtor.v1 import intent_pb2 as ip

from mtor_common import config
from mtor_common.backoff import Backoff
from mtor_common.coalesce import coalesced
from mtor_common.config import WorkerSection
from mtor_worker import cli, device
from mtor_worker.backends import Backend, BackendError, BlockingBackend, Capability, Job
from mtor_worker.execution import execute, merge_capabilities, select_backend

CODE = {s.value[0]: s for s in grpc.StatusCode}


class Counter(BlockingBackend):
    """Emits `n` text chunks from its thread; behaviour picked by the prompt."""

    name = "counter"

    def __init__(self, settings: WorkerSection) -> None:
        super().__init__(settings)
        self.stopped = threading.Event()

    def capabilities(self) -> list[Capability]:
        return [Capability("chat", ["small", "big"])]

    def run_blocking(self, job: Job) -> ip.IntentResult:
        assert threading.current_thread() is not threading.main_thread()
        prompt = job.request.chat.prompt
        if prompt == "crash":
            raise RuntimeError("boom")
        if prompt == "bad":
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "cannot read that")
        if prompt == "empty":
            return ip.IntentResult()
        if prompt == "forever":
            while not job.cancelled.wait(0.01):
                pass
            self.stopped.set()
            job.raise_if_cancelled()
        for i in range(200):
            job.emit_text(f"{i} ")
        return ip.IntentResult(text=ip.TextOutput(text="done", tokens=200))


def run_job(backend: Backend, prompt: str, timeout_s: float = 5.0,
            cancel_after: float | None = None) -> tuple[ip.IntentResult | ip.Error, list[ip.Delta]]:
    async def go() -> tuple[ip.IntentResult | ip.Error, list[ip.Delta]]:
        deltas: list[ip.Delta] = []
        job = Job(request=ip.IntentRequest(chat=ip.ChatRequest(prompt=prompt)), kind="chat",
                  model="", on_delta=deltas.append)
        task = asyncio.create_task(execute(backend, job, timeout_s))
        if cancel_after is not None:
            await asyncio.sleep(cancel_after)
            task.cancel()
        outcome = await task
        # Everything the thread emitted arrived before the outcome, in order.
        return outcome, list(deltas)
    return asyncio.run(go())


def test_blocking_backend_streams_in_order_before_result() -> None:
    outcome, deltas = run_job(Counter(WorkerSection()), "count")
    assert isinstance(outcome, ip.IntentResult)
    assert [d.text for d in deltas] == [f"{i} " for i in range(200)]
    assert outcome.kind == ip.KIND_CHAT and outcome.model == "counter"


@pytest.mark.parametrize("prompt,code,text", [
    ("crash", grpc.StatusCode.INTERNAL, "boom"),
    ("bad", grpc.StatusCode.INVALID_ARGUMENT, "cannot read that"),
    ("empty", grpc.StatusCode.INTERNAL, "no output"),
])
def test_failures_map_to_codes(prompt: str, code: grpc.StatusCode, text: str) -> None:
    outcome, _ = run_job(Counter(WorkerSection()), prompt)
    assert isinstance(outcome, ip.Error)
    assert CODE[outcome.code] == code and text in outcome.message


def test_timeout_is_deadline_exceeded_and_stops_the_thread() -> None:
    backend = Counter(WorkerSection())
    start = time.monotonic()
    outcome, _ = run_job(backend, "forever", timeout_s=0.2)
    assert isinstance(outcome, ip.Error) and CODE[outcome.code] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.15 < time.monotonic() - start < 1.0
    assert backend.stopped.wait(1.0)


def test_cancel_is_cancelled_and_stops_the_thread() -> None:
    backend = Counter(WorkerSection())
    outcome, _ = run_job(backend, "forever", cancel_after=0.1)
    assert isinstance(outcome, ip.Error) and CODE[outcome.code] == grpc.StatusCode.CANCELLED
    assert backend.stopped.wait(1.0)


def test_emits_after_close_are_dropped() -> None:
    got: list[ip.Delta] = []
    job = Job(request=ip.IntentRequest(), kind="chat", model="", on_delta=got.append)
    job.emit_progress(2.0)
    job.close()
    job.emit_text("late")
    assert [d.fraction for d in got] == [1.0] and job.cancelled.is_set()


def test_routing_and_capabilities() -> None:
    from mtor_worker.backends.echo import EchoBackend
    counter, echo = Counter(WorkerSection()), EchoBackend(WorkerSection())
    assert select_backend([counter, echo], "chat", "big") is counter
    assert select_backend([counter, echo], "chat", "other") is echo
    assert select_backend([counter, echo], "speak", "") is echo
    missing = select_backend([counter], "chat", "huge")
    assert isinstance(missing, ip.Error) and CODE[missing.code] == grpc.StatusCode.NOT_FOUND
    unserved = select_backend([counter], "speak", "")
    assert isinstance(unserved, ip.Error) and CODE[unserved.code] == grpc.StatusCode.UNIMPLEMENTED
    caps = merge_capabilities([counter])
    assert [(c.kind, list(c.models)) for c in caps] == [(ip.KIND_CHAT, ["small", "big"])]
    assert all(not c.models for c in merge_capabilities([counter, echo]))


def test_parse_nvidia_smi() -> None:
    text = "NVIDIA H100 80GB HBM3, 81559, 80000\nTesla, Inc. GPU, [N/A], [N/A]\n\n"
    gpus = device.parse_nvidia_smi(text)
    assert gpus[0] == device.DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 81559 * 2**20, 80000 * 2**20)
    assert gpus[1] == device.DeviceInfo("cuda", "Tesla, Inc. GPU", 0, 0)
    assert len(gpus) == 2


def test_cpu_name(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example CPU @ 3GHz\n")
    assert device.cpu_name(str(info)) == "Example CPU @ 3GHz"
    assert device.cpu_name(str(tmp_path / "missing"))
    assert device.detect_devices()[0].type == "cpu"


def test_backoff() -> None:
    b = Backoff(0.1, 1.0, jitter=0.0)
    assert [round(b.next_delay(), 3) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    b.reset()
    assert b.next_delay() == pytest.approx(0.1)
    b.penalize()
    assert b.next_delay() == pytest.approx(1.0)
    jittered = Backoff(1.0, 1.0)
    assert all(0.8 <= jittered.next_delay() <= 1.0 for _ in range(20))


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_flags_override_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTOR_DATA_DIR", raising=False)
    for key in ("REALM", "NAME", "BACKENDS", "MAX_CONCURRENCY", "ECHO_DELAY_S"):
        monkeypatch.delenv(f"MTOR_WORKER_{key}", raising=False)
    (tmp_path / "mtor.toml").write_text('[worker]\nname = "from-file"\nrealm = "r:1"\nmax_concurrency = 7\n')
    settings = cli.config_from(_args("--data-dir", str(tmp_path))).worker
    assert (settings.name, settings.realm, settings.max_concurrency) == ("from-file", "r:1", 7)
    monkeypatch.setenv("MTOR_WORKER_REALM", "env:2")
    settings = cli.config_from(_args("--data-dir", str(tmp_path), "--name", "flag",
                                     "--backend", "echo,a", "--backend", "b",
                                     "--max-concurrency", "2", "--echo-delay", "0.5")).worker
    assert settings.realm == "env:2" and settings.name == "flag"
    assert settings.backends == ["echo", "a", "b"]
    assert (settings.max_concurrency, settings.echo_delay_s) == (2, 0.5)
    monkeypatch.setenv("MTOR_DATA_DIR", str(tmp_path / "via-env"))
    assert config.data_dir(None) == tmp_path / "via-env"
    assert config.data_dir("~/x") == Path.home() / "x"


def test_cli_absent_flags_stay_absent() -> None:
    assert vars(_args()) == {}


def test_cli_rejects_unknown_backend(tmp_path: Path) -> None:
    assert cli.main(_args("--data-dir", str(tmp_path), "--backend", "nope")) == 2


def test_cli_import_is_light() -> None:
    code = "import sys, mtor_worker.cli; print(sorted(m for m in ('grpc', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_auto_picks_the_installed_model_backends_and_starter_models_are_found() -> None:
    from mtor_worker import starter
    from mtor_worker.backends import resolve_backends

    cfg = config.Config()
    # make install puts in every model library; only imagine has no starter model
    assert resolve_backends(["auto"], cfg) == ["llama", "whisper", "piper"]
    assert resolve_backends(["echo", "auto", "echo"], cfg) == ["echo", "llama", "whisper", "piper"]
    assert resolve_backends(["Piper"], cfg) == ["piper"]
    cfg.section("diffusers").model = "/some/pipeline"
    assert resolve_backends(["auto"], cfg) == ["llama", "whisper", "piper", "diffusers"]
    assert starter.chat_model() is not None and starter.chat_model().suffix == ".gguf"
    assert (starter.whisper_model() / "model.bin").exists()
    assert starter.piper_voice().with_suffix(".onnx.json").exists()


def test_consecutive_messages_are_coalesced_and_the_rest_keep_their_place():
    def item(m: str | None) -> str | None:
        return m[1:] if m is not None and m.startswith("u") else None

    def pack(run: list[str]) -> str:
        return "+".join(run)

    messages = ["h", "u1", "u2", "u3", "h", "u4", "c", "u5", "u6", None]
    assert list(coalesced(messages, item, pack)) == ["h", "1+2+3", "h", "u4", "c", "5+6", None]
    assert list(coalesced([], item, pack)) == []
    assert list(coalesced(["u1"], item, pack)) == ["u1"]  # a run of one is left as it was


def test_a_heartbeat_is_news_when_what_the_realm_acts_on_changes() -> None:
    from mtor_client._proto.mtor.v1 import worker_link_pb2 as wl

    from mtor_worker.runtime import VRAM_STEP_BYTES, heartbeat_gist

    def beat(running: int = 0, healthy: bool = True, draining: bool = False, free: int = 8 * VRAM_STEP_BYTES,
             detail: str = "") -> wl.Heartbeat:
        gpu = wl.Device(type="cuda", name="gpu0", vram_total_bytes=16 * VRAM_STEP_BYTES, vram_free_bytes=free)
        return wl.Heartbeat(running=running, healthy=healthy, draining=draining, devices=[gpu], detail=detail)

    base = heartbeat_gist(beat())
    assert heartbeat_gist(beat(running=3)) == base  # the realm counts running assignments itself
    assert heartbeat_gist(beat(free=8 * VRAM_STEP_BYTES + 1000)) == base  # a GPU's jitter is not news
    assert heartbeat_gist(beat(free=5 * VRAM_STEP_BYTES)) != base  # a model loaded is
    assert heartbeat_gist(beat(healthy=False, detail="llama: model gone")) != base
    assert heartbeat_gist(beat(draining=True)) != base


def test_a_heartbeat_goes_out_on_news_or_when_due_and_more_often_while_unhealthy() -> None:
    from mtor_client._proto.mtor.v1 import worker_link_pb2 as wl

    from mtor_worker.runtime import UNHEALTHY_EVERY_S, heartbeat_due, heartbeat_gist

    well, ill = wl.Heartbeat(healthy=True), wl.Heartbeat(healthy=False, detail="upstream unreachable")
    assert heartbeat_due(well, None, 0.0, 15.0)  # the first of a connection
    assert not heartbeat_due(well, heartbeat_gist(well), 14.0, 15.0)
    assert heartbeat_due(well, heartbeat_gist(well), 15.0, 15.0)
    assert heartbeat_due(ill, heartbeat_gist(well), 0.1, 15.0)  # falling ill is news
    assert not heartbeat_due(ill, heartbeat_gist(ill), UNHEALTHY_EVERY_S / 2, 15.0)
    assert heartbeat_due(ill, heartbeat_gist(ill), UNHEALTHY_EVERY_S, 15.0)  # and said again soon, while it lasts
