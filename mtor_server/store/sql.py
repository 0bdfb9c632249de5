"""SQL that SQLite and PostgreSQL both run, for the statements the realm's parts write (issue 17: one realm's
SQL, two engines). Rules the parts keep: placeholders are `?`; a column named user is written "user" (a
reserved word in PostgreSQL, where a bare `user` is the session's role); booleans are counted with
COUNT(*) FILTER (WHERE ...), not summed; a row replaced in place is an upsert (below), not INSERT OR REPLACE.
"""
from __future__ import annotations

import re
from typing import Sequence

_PARTS = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?)")


def _quoted(name: str) -> str:
    return f'"{name}"'


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """INSERT of every column, or, where a row with the same `key` is there, its other columns set in place
    (ON CONFLICT ... DO UPDATE: SQLite 3.24+ and PostgreSQL)."""
    names = ", ".join(map(_quoted, columns))
    marks = ", ".join("?" for _ in columns)
    rest = [c for c in columns if c not in key]
    action = ("DO UPDATE SET " + ", ".join(f"{_quoted(c)} = excluded.{_quoted(c)}" for c in rest)) if rest \
        else "DO NOTHING"
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({', '.join(map(_quoted, key))}) {action}"


META_WRITE = upsert("meta", ("key", "value"), key=("key",))
"""A (key, value) of the store's meta table, set."""


def numbered(sql: str) -> str:
    """The parts' `?` placeholders as PostgreSQL's $1, $2, ... (asyncpg's), leaving quoted text alone."""
    count = 0

    def number(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(0) != "?":
            return m.group(0)
        count += 1
        return f"${count}"

    return _PARTS.sub(number, sql)
