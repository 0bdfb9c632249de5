"""The protos are the product's face: every service, method, message, field and
enum value says what it means, and every enum starts with _UNSPECIFIED = 0."""
from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def descriptor_set(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    from grpc_tools import protoc

    include = Path(protoc.__file__).parent / "_proto"
    out = tmp_path / "set.pb"
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    assert protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", "--include_source_info",
                        f"--descriptor_set_out={out}", *files]) == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def undocumented(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    comments = {tuple(loc.path): loc.leading_comments.strip() for loc in file.source_code_info.location}
    missing = []

    def check(path: tuple[int, ...], name: str) -> None:
        if not comments.get(path):
            missing.append(f"{file.name}: {name}")

    def message(msg: descriptor_pb2.DescriptorProto, path: tuple[int, ...], prefix: str) -> None:
        check(path, prefix + msg.name)
        for i, f in enumerate(msg.field):
            check(path + (2, i), f"{prefix}{msg.name}.{f.name}")
        for i, nested in enumerate(msg.nested_type):
            message(nested, path + (3, i), f"{prefix}{msg.name}.")
        for i, e in enumerate(msg.enum_type):
            enum(e, path + (4, i), f"{prefix}{msg.name}.")

    def enum(e: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], prefix: str) -> None:
        check(path, prefix + e.name)
        for i, v in enumerate(e.value):
            check(path + (2, i), f"{prefix}{e.name}.{v.name}")

    for i, msg in enumerate(file.message_type):
        message(msg, (4, i), "")
    for i, e in enumerate(file.enum_type):
        enum(e, (5, i), "")
    for i, service in enumerate(file.service):
        check((6, i), service.name)
        for j, method in enumerate(service.method):
            check((6, i, 2, j), f"{service.name}.{method.name}")
    return missing


def test_every_element_is_commented(tmp_path):
    files = [f for f in descriptor_set(tmp_path).file if f.package == "mtor.v1"]
    assert len(files) >= 4
    missing = [m for f in files for m in undocumented(f)]
    assert not missing, "undocumented: " + ", ".join(missing)


@pytest.mark.parametrize("expected", ["Kind", "IntentState", "AudioFormat", "TranscribeTask", "NoticeLevel",
                                      "FinishReason"])
def test_enums_start_with_unspecified_zero(tmp_path, expected):
    enums = {e.name: e for f in descriptor_set(tmp_path).file if f.package == "mtor.v1" for e in f.enum_type}
    first = enums[expected].value[0]
    assert first.number == 0 and first.name.endswith("_UNSPECIFIED")
