"""Generate the Python stubs of protos/ into the mtor-client package.

protoc writes imports as `from mtor.v1 import x_pb2`; the stubs live inside
`mtor_client._proto`, so those imports are rewritten to that package. Run with
`--check` in CI to fail when the committed stubs are stale.
"""
from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
TARGET = ROOT / "clients" / "python" / "mtor_client" / "_proto"
PACKAGE = "mtor_client._proto"


def generate(out: Path) -> None:
    from grpc_tools import protoc  # only needed by developers, not at install

    include = Path(protoc.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    args = ["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}",
            f"--pyi_out={out}", f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    for py in out.rglob("*.py*"):
        text = py.read_text()
        text = re.sub(r"^from mtor\.v1 import", f"from {PACKAGE}.mtor.v1 import", text, flags=re.M)
        py.write_text(text)
    for d in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
        (d / "__init__.py").touch()


def same_tree(a: Path, b: Path) -> bool:
    names_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    names_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return names_a == names_b and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names_a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed stubs are stale")
    check = parser.parse_args().check
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "_proto"
        out.mkdir()
        generate(out)
        if check:
            if not TARGET.exists() or not same_tree(out, TARGET):
                sys.exit("generated stubs are stale: run `make proto` and commit the result")
            print("generated stubs are fresh")
            return
        shutil.rmtree(TARGET, ignore_errors=True)
        shutil.copytree(out, TARGET)
        print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
