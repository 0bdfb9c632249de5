"""The layers of pyproject.toml's [tool.importlinter] hold (`make lint` checks them too), and an import that breaks
one is caught: shown on a copy of the tree with one such import added."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["mtor_common", "mtor_server", "mtor_worker", "federation", "gateway_ws"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT / "clients" / "python")])}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120)


def copy_of_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "page"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_layers_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module,line,contract", [
    ("mtor_worker/runtime.py", "import mtor_server.realm", "the worker is independent of the realm"),
    ("mtor_server/realm.py", "import federation.hub", "the realm core imports neither federation"),
    ("mtor_common/config.py", "import mtor_server.store", "mtor_common imports only the SDK"),
    ("gateway_ws/app.py", "import federation.link", "federation and the gateway are independent"),
    ("federation/link.py", "import mtor_client._channel", "the SDK's private channel code stays private"),
    ("mtor_server/scheduler/dispatcher.py", "import mtor_server.cli.common",
     "the realm core does not import the command line"),
    ("mtor_server/services/intents.py", "import mtor_server.realm", "the realm's parts get what they need"),
])
def test_an_import_across_a_layer_is_caught(tmp_path, module, line, contract):
    tree = copy_of_tree(tmp_path)
    path = tree / module
    source = path.read_text()
    header_end = source.index("from __future__ import annotations\n") + len("from __future__ import annotations\n")
    path.write_text(source[:header_end] + f"{line}  # breaks a layer\n" + source[header_end:])
    result = lint_imports(tree)
    assert result.returncode != 0, result.stdout
    broken = result.stdout[result.stdout.index("Broken contracts"):]
    assert contract in " ".join(broken.split()), result.stdout
