"""Who is told that something changed in the realm (its workers, its intents): WatchRealm streams, peers'
capacity reports, the DNS-SD announcement. Each watcher is an event it clears itself after reading."""
from __future__ import annotations

import asyncio


class Changes:
    def __init__(self) -> None:
        self._watchers: set[asyncio.Event] = set()

    def watch(self) -> asyncio.Event:
        """An event set at every change from now on; pass it to unwatch when done."""
        changed = asyncio.Event()
        self._watchers.add(changed)
        return changed

    def unwatch(self, changed: asyncio.Event) -> None:
        self._watchers.discard(changed)

    def changed(self) -> None:
        for watcher in self._watchers:
            watcher.set()
