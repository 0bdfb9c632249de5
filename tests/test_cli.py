"""The `mtor` command as a person runs it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from harness import FAST, spawn, wait_until

HEAVY = ("grpc", "google", "aiosqlite", "torch", "numpy", "llama_cpp", "faster_whisper", "diffusers",
         "transformers", "bark", "piper")
MODEL_LIBRARIES = ("torch", "llama_cpp", "faster_whisper", "diffusers", "transformers", "bark", "piper",
                   "ctranslate2", "onnxruntime")
WEB_STACK = ("fastapi", "starlette", "uvicorn", "sse_starlette", "multipart", "python_multipart", "gateway_ws")


def mtor(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtor_server.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **FAST, **(env or {})})


def imported_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_help_lists_the_commands_and_imports_nothing_heavy():
    result = mtor("--help")
    assert result.returncode == 0
    for command in ("realm", "worker", "up", "gateway", "chat", "status"):
        assert command in result.stdout
    loaded = imported_by("from mtor_server.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_the_realm_never_imports_a_model_library_nor_the_gateways_web_stack():
    loaded = imported_by("import mtor_server.server, mtor_server.realm, mtor_server.up")
    assert "grpc" in loaded  # the check itself sees imports
    assert not loaded & set(MODEL_LIBRARIES)
    assert not loaded & set(WEB_STACK), loaded & set(WEB_STACK)


def test_the_backends_settings_import_no_model_library():
    loaded = imported_by("import mtor_worker.backends")  # what `mtor realm` imports for the backends' sections
    assert "mtor_worker" in loaded
    assert not loaded & set(MODEL_LIBRARIES), loaded & set(MODEL_LIBRARIES)
    assert not loaded & set(WEB_STACK), loaded & set(WEB_STACK)


def test_chat_and_status_against_a_realm(cluster):
    realm = cluster.realm({"MTOR_REALM_NAME": "lab"})
    cluster.worker(realm, "w1", delay=0.01)
    result = mtor("chat", "hello", "world", "--realm", realm.address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: hello world"
    assert "w1@lab" in result.stderr and "cost" in result.stderr

    status = mtor("status", env={"MTOR_REALM": realm.address})
    assert status.returncode == 0, status.stderr
    assert "realm 'lab'" in status.stdout
    assert re.search(r"^chat\s+1\s+4\s+0\s+any$", status.stdout, re.M), status.stdout


def test_client_commands_report_an_unreachable_realm_clearly():
    for args in (["status"], ["chat", "hi", "--timeout", "3"]):
        result = mtor(*args, "--realm", "127.0.0.1:1")
        assert result.returncode == 1
        assert result.stderr.startswith("mtor: ") and "UNAVAILABLE" in result.stderr
        assert "Traceback" not in result.stderr


def test_up_runs_a_realm_with_a_local_worker_and_stops_cleanly(tmp_path):
    proc = spawn(["up", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), "--backend", "echo"],
                 tmp_path / "up.log")
    try:
        address = wait_until(lambda: (m := re.search(r"listening on (\S+)", proc.output())) and m.group(1), 20,
                             what="the realm")
        assert (tmp_path / "data" / "mtor.toml").exists() and (tmp_path / "data" / "mtor.db").exists()

        def answered() -> bool:
            r = mtor("chat", "are you there", "--realm", str(address), "--timeout", "5")
            return r.returncode == 0 and r.stdout.strip() == "echo: are you there"

        wait_until(answered, 30, interval=0.2, what="the local worker to answer")
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.popen.wait(30) == 0, proc.output()
        assert "Traceback" not in proc.output()
    finally:
        if proc.alive():
            proc.popen.kill()


def test_chat_shows_its_queue_position_while_it_waits(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=1)
    from mtor_client import Client
    from mtor_client._proto.mtor.v1 import intent_pb2

    with Client(realm.address) as client:
        busy = client.submit(intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt="!sleep 1.5")))
        next(busy)
        result = mtor("chat", "my turn", "--realm", realm.address)
        list(busy)
    assert result.returncode == 0 and result.stdout.strip() == "echo: my turn"
    assert "[queued at position 1]" in result.stderr
