"""The blocking client is generated from the asyncio one (tools/unasync.py):
the committed _sync.py must be what the script makes of _async.py, and the
check must notice when it is not."""
from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from mtor_client import AsyncClient, Client
from mtor_client import _convert as conv

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "unasync.py"
PACKAGE = ROOT / "clients" / "python" / "mtor_client"


def unasync(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_the_committed_sync_client_is_fresh():
    done = unasync("--check")
    assert done.returncode == 0, done.stderr
    assert (PACKAGE / "_sync.py").read_text().startswith(
        "# generated from _async.py by tools/unasync.py; do not edit")


def test_a_change_to_the_async_client_makes_the_committed_sync_one_stale(tmp_path):
    source = tmp_path / "_async.py"
    text = (PACKAGE / "_async.py").read_text()
    changed = text.replace('"""The realm address this client talks to."""', '"""Where the realm is."""')
    assert changed != text
    source.write_text(changed)

    generated = tmp_path / "_sync.py"
    assert unasync("--source", source, "--target", generated).returncode == 0
    assert generated.read_text() != (PACKAGE / "_sync.py").read_text()
    assert '"""Where the realm is."""' in generated.read_text()

    stale = unasync("--check", "--source", source, "--target", PACKAGE / "_sync.py")
    assert stale.returncode == 1
    assert "stale" in stale.stderr and "make unasync" in stale.stderr


def test_a_hand_edit_of_the_sync_client_is_caught(tmp_path):
    target = tmp_path / "_sync.py"
    target.write_text((PACKAGE / "_sync.py").read_text().replace("time.sleep(", "time.sleep(0 * "))
    assert unasync("--check", "--target", target).returncode == 1


def test_async_wording_the_script_does_not_know_fails_loudly(tmp_path):
    source = tmp_path / "_async.py"
    source.write_text((PACKAGE / "_async.py").read_text().replace("for asyncio. Close it", "for asyncio; close it"))
    done = unasync("--source", source, "--target", tmp_path / "_sync.py")
    assert done.returncode == 2 and "PHRASES" in done.stderr


KINDS = {"chat": conv.chat_request, "chat_stream": conv.chat_request, "transcribe": conv.transcribe_request,
         "speak": conv.speak_request, "imagine": conv.imagine_request, "vision": conv.vision_request,
         "embed": conv.embed_request, "converse": conv.converse_request}


@pytest.mark.parametrize("client", [Client, AsyncClient])
@pytest.mark.parametrize("method", sorted(KINDS))
def test_each_kind_method_takes_exactly_its_builders_parameters(client, method):
    """The methods pass their arguments to the builders by name: the two lists must match."""
    own = inspect.signature(getattr(client, method)).parameters
    builder = inspect.signature(KINDS[method]).parameters
    intent_params = [(p.name, p.kind, p.default) for p in own.values() if p.name not in ("self", "timeout", "on_event")]
    builder_params = [(p.name, p.kind, p.default) for p in builder.values()]
    assert sorted(intent_params, key=str) == sorted(builder_params, key=str)
