"""Who is connected now (a call open), and the most users ever connected at once."""
from __future__ import annotations

import collections
import contextlib
from typing import Iterator

from ..store import Store, log_failure
from ..store.sql import META_WRITE


class Presence:
    def __init__(self, store: Store, most: int = 0) -> None:
        self.store = store
        self.most = most
        self._open: collections.Counter[str] = collections.Counter()

    @classmethod
    async def open(cls, store: Store) -> "Presence":
        rows = await store.fetchall("SELECT value FROM meta WHERE key = 'most_users_connected'")
        return cls(store, int(rows[0][0]) if rows else 0)

    @property
    def now(self) -> int:
        return len(self._open)

    @contextlib.contextmanager
    def connected(self, user: str) -> Iterator[None]:
        """Around a call: counts `user` as connected while it is open."""
        self._open[user] += 1
        if self.now > self.most:
            self.most = self.now
            log_failure(self.store.write(META_WRITE, ("most_users_connected", str(self.most))))
        try:
            yield
        finally:
            self._open[user] -= 1
            if not self._open[user]:
                del self._open[user]
