"""A bounded queue, fair across users, for the intents of one kind.

Start-time fair queuing: each entry gets a virtual tag, one past the larger of
its user's previous tag and the queue's virtual clock (the tag last served).
Served in tag order, a user's burst of N takes tags t+1..t+N while another
user's single intent takes t+1, so it goes second, not N+1st; users alternate.
"""
from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field


class QueueFull(Exception):
    """The kind's queue holds `max_depth` intents already."""


@dataclass(order=True)
class _Entry:
    tag: float
    seq: int
    intent_id: str = field(compare=False)
    user: str = field(compare=False)


class FairQueue:
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self._entries: list[_Entry] = []
        self._by_id: dict[str, _Entry] = {}
        self._user_tag: dict[str, float] = {}
        self._clock = 0.0
        self._seq = itertools.count()
        self._reserved = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, intent_id: str) -> bool:
        return intent_id in self._by_id

    def __iter__(self):
        return (e.intent_id for e in list(self._entries))

    def reserve(self) -> None:
        """Hold a place for an intent being recorded; QueueFull if none is left."""
        if len(self._entries) + self._reserved >= self.max_depth:
            raise QueueFull
        self._reserved += 1

    def release(self) -> None:
        """Give back a place taken by `reserve` (before or instead of `push`)."""
        self._reserved = max(0, self._reserved - 1)

    def push(self, intent_id: str, user: str) -> None:
        tag = max(self._user_tag.get(user, 0.0), self._clock) + 1.0
        self._user_tag[user] = tag
        self._insert(_Entry(tag, next(self._seq), intent_id, user))

    def push_front(self, intent_id: str, user: str) -> None:
        """Put back an intent whose attempt was lost: it goes before all others."""
        tag = min(self._entries[0].tag if self._entries else self._clock, self._clock) - 1.0
        self._insert(_Entry(tag, next(self._seq), intent_id, user))

    def _insert(self, entry: _Entry) -> None:
        bisect.insort(self._entries, entry)
        self._by_id[entry.intent_id] = entry

    def remove(self, intent_id: str) -> bool:
        """Drop an intent that will not be served (cancelled, expired)."""
        entry = self._by_id.pop(intent_id, None)
        if entry is None:
            return False
        self._entries.pop(bisect.bisect_left(self._entries, entry))
        return True

    def take(self, intent_id: str) -> None:
        """Remove an intent that is being served and advance the virtual clock."""
        entry = self._by_id[intent_id]
        self.remove(intent_id)
        self._clock = max(self._clock, entry.tag)
        if not self._entries:
            self._user_tag.clear()

    def positions(self) -> dict[str, int]:
        """1-based place of every queued intent."""
        return {e.intent_id: i for i, e in enumerate(self._entries, start=1)}
