"""A realm's stable id: made once, kept in its data dir, so that workers and
peer realms know it again after a restart, a new port or a new address."""
from __future__ import annotations

import uuid
from pathlib import Path

REALM_ID_FILE = "realm_id"


def realm_id(data_dir: Path) -> str:
    """This realm's id (32 hex digits), created on first use."""
    path = data_dir / REALM_ID_FILE
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = uuid.uuid4().hex
        path.write_text(value + "\n")
    return value
