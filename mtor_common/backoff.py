"""Reconnection pacing: exponential backoff with a little jitter, so a realm
that restarts is not hit by every worker at the same instant."""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of initial_s, doubling up to max_s; reset() after a good connection."""

    initial_s: float = 0.1
    max_s: float = 5.0
    factor: float = 2.0
    jitter: float = 0.2
    _next_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.max_s = max(self.max_s, 0.0)
        self.initial_s = min(self.initial_s, self.max_s)
        self._next_s = self.initial_s

    def next_delay(self) -> float:
        """The pause before the next attempt; each call doubles the one after."""
        delay = self._next_s
        self._next_s = min(self.max_s, max(self._next_s, 1e-3) * self.factor)
        return delay * (1.0 - self.jitter * random.random())

    def penalize(self) -> None:
        """Jump to the longest pause: the realm refused us and retrying fast won't help."""
        self._next_s = self.max_s

    def reset(self) -> None:
        self._next_s = self.initial_s
