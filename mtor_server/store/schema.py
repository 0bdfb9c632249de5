"""Versioned schemas: each part of the realm keeps its tables as the list of migrations that made them.

A part's version is the number of its migrations that have run on a database; a start runs the ones a
database lacks, each in one transaction with its new version, so a data dir of an older release upgrades in
place. A database whose version of a part is newer than this realm knows was written by a newer release:
the realm refuses it rather than misread it. Released migrations are never edited, only appended to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

Migration = str | Mapping[str, str]
"""One step: SQL that both engines run, or its text per dialect ({"sqlite": ..., "postgresql": ...})."""


@dataclass(frozen=True)
class Schema:
    """One part's tables: migrations[0] makes version 1, migrations[1] version 2, and so on."""

    part: str
    migrations: tuple[Migration, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)

    def text(self, version: int, dialect: str) -> str:
        """The SQL that brings the part to `version` on `dialect`'s engine."""
        step = self.migrations[version - 1]
        return step if isinstance(step, str) else step[dialect]


VERSIONS_TABLE = "CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)"
"""Where a database says which version of each part it holds (no row: none of its migrations has run)."""


class SchemaTooNew(Exception):
    """The database holds a newer version of some part than this realm knows."""


def pending(schemas: Sequence[Schema], stored: Mapping[str, int]) -> list[tuple[Schema, int]]:
    """(schema, version) for every migration the database lacks, in order; SchemaTooNew names every part that
    a newer release wrote."""
    newer = [f"{s.part} is at version {stored[s.part]}, this realm knows {s.version}" for s in schemas
             if stored.get(s.part, 0) > s.version]
    if newer:
        raise SchemaTooNew("; ".join(newer))
    return [(s, v) for s in schemas for v in range(stored.get(s.part, 0) + 1, s.version + 1)]
