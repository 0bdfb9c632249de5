"""A bounded queue, fair across users, for the intents of one kind.

Start-time fair queuing: each entry gets a virtual tag, one past the larger of
its user's previous tag and the queue's virtual clock (the tag last served).
Served in tag order, a user's burst of N takes tags t+1..t+N while another
user's single intent takes t+1, so it goes second, not N+1st; users alternate.

Admission is fair too. A user *holds* a place for each of their intents waiting
and each reservation (an intent being recorded). Below `max_depth` places held
in all, anyone is admitted. At or above it the queue is full, and a user is
admitted only while they hold fewer than their share: `max_depth` divided by
the number of users holding places (them included). So one user keeping the
queue full is refused first, and a user holding less than their share still
gets in, up to `ceiling` (2 x `max_depth`) places, which bounds memory.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from sortedcontainers import SortedList


class QueueFull(Exception):
    """No place for this user: the queue is full and they hold their share of it, or it is at its ceiling."""

    def __init__(self, held: int, depth: int, max_depth: int, users: int, ceiling: int) -> None:
        self.held = held
        """Places the refused user holds."""
        self.depth = depth
        """Places held in all (waiting intents and reservations)."""
        self.max_depth = max_depth
        self.users = users
        """Users holding places, the refused one counted."""
        self.ceiling = ceiling
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        if self.depth >= self.ceiling:
            return (f"{self.depth} intents are waiting, twice queue.max_depth ({self.max_depth}), "
                    f"from {self.users} users")
        share = self.max_depth / self.users
        return (f"{self.depth} intents are waiting (queue.max_depth {self.max_depth}) and you hold {self.held} "
                f"of them, your share or more ({self.max_depth} / {self.users} users = {share:.3g})")


@dataclass(order=True, slots=True)
class _Entry:
    tag: float
    seq: int
    intent_id: str = field(compare=False)
    user: str = field(compare=False)


class FairQueue:
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.ceiling = 2 * max_depth
        """Places held in all beyond which nobody is admitted."""
        self._entries: SortedList = SortedList()
        """In the order they will start: O(log n) to add, remove or rank one, however deep the queue."""
        self._by_id: dict[str, _Entry] = {}
        self._user_tag: dict[str, float] = {}
        self._clock = 0.0
        self._seq = itertools.count()
        self._held: Counter[str] = Counter()
        """Per user: waiting intents plus reservations; only users holding places have a key."""
        self._reserved: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, intent_id: str) -> bool:
        return intent_id in self._by_id

    def __iter__(self) -> Iterator[str]:
        """The waiting intents in the order they will start. Lazy (a dispatch that stops after a few reads
        no more of a long queue than that); taking or removing the intent just yielded is allowed."""
        entries, i = self._entries, 0
        while i < len(entries):
            entry = entries[i]
            yield entry.intent_id
            if i < len(entries) and entries[i] is entry:  # still there: on to the next
                i += 1

    def held(self, user: str) -> int:
        """Places `user` holds: their waiting intents and reservations."""
        return self._held[user]

    def reserve(self, user: str) -> None:
        """Hold a place for `user`'s intent being recorded; QueueFull if they may not have one (see above)."""
        depth = len(self._entries) + self._reserved.total()
        held = self._held[user]
        users = len(self._held) + (0 if held else 1)
        if depth >= self.ceiling or (depth >= self.max_depth and held * users >= self.max_depth):
            raise QueueFull(held, depth, self.max_depth, users, self.ceiling)
        self._reserved[user] += 1
        self._held[user] += 1

    def release(self, user: str) -> None:
        """Give back a place `reserve(user)` took (before `push`, or instead of it)."""
        if self._reserved[user] <= 0:
            return
        self._reserved[user] -= 1
        if not self._reserved[user]:
            del self._reserved[user]
        self._drop(user)

    def push(self, intent_id: str, user: str) -> None:
        tag = max(self._user_tag.get(user, 0.0), self._clock) + 1.0
        self._user_tag[user] = tag
        self._insert(_Entry(tag, next(self._seq), intent_id, user))

    def push_front(self, intent_id: str, user: str) -> None:
        """Put back an intent whose attempt was lost: it goes before all others."""
        tag = min(self._entries[0].tag if self._entries else self._clock, self._clock) - 1.0
        self._insert(_Entry(tag, next(self._seq), intent_id, user))

    def _insert(self, entry: _Entry) -> None:
        self._entries.add(entry)
        self._by_id[entry.intent_id] = entry
        self._held[entry.user] += 1

    def _drop(self, user: str) -> None:
        self._held[user] -= 1
        if self._held[user] <= 0:
            del self._held[user]

    def remove(self, intent_id: str) -> bool:
        """Drop an intent that will not be served (cancelled, expired)."""
        entry = self._by_id.pop(intent_id, None)
        if entry is None:
            return False
        self._entries.remove(entry)
        self._drop(entry.user)
        return True

    def take(self, intent_id: str) -> None:
        """Remove an intent that is being served and advance the virtual clock."""
        entry = self._by_id[intent_id]
        self.remove(intent_id)
        self._clock = max(self._clock, entry.tag)
        if not self._entries:
            self._user_tag.clear()

    def position(self, intent_id: str) -> int:
        """1-based place of a queued intent; 0 when it is not queued."""
        entry = self._by_id.get(intent_id)
        return 0 if entry is None else self._entries.bisect_left(entry) + 1

    def positions(self) -> dict[str, int]:
        """1-based place of every queued intent."""
        return {e.intent_id: i for i, e in enumerate(self._entries, start=1)}
