"""Worker health, with the original's arithmetic.

Success +10 (max 100), failure -10, timeout or error -5; at 0 the worker is
blacklisted and gets no work; it is readmitted at 50 when it answers again
(a healthy heartbeat, once `readmit_after_s` has passed, so that a worker that
heartbeats fine but fails every intent is not readmitted within a second).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

MAX = 100
READMIT = 50
SUCCESS = +10
FAILURE = -10
ERROR = -5  # a timeout, a late heartbeat, a lost attempt


class Transition(enum.Enum):
    BLACKLISTED = "blacklisted"
    READMITTED = "readmitted"


@dataclass
class HealthScore:
    score: int = MAX
    blacklisted: bool = False
    blacklisted_at: float = 0.0
    by_hand: bool = False  # blacklisted by the sysop: only the sysop readmits

    def blacklist_by_hand(self, now: float) -> Transition | None:
        was = self.blacklisted
        self.blacklisted, self.by_hand, self.blacklisted_at = True, True, now
        return None if was else Transition.BLACKLISTED

    def readmit(self) -> Transition | None:
        """The sysop's readmission (at READMIT when blacklisted)."""
        was = self.blacklisted
        self.by_hand = False
        if was:
            self.blacklisted, self.score = False, READMIT
        return Transition.READMITTED if was else None

    def record(self, delta: int, now: float) -> Transition | None:
        """Apply an outcome; a blacklisted worker's score waits for readmission."""
        if self.blacklisted:
            return None
        self.score = max(0, min(MAX, self.score + delta))
        if self.score == 0:
            self.blacklisted = True
            self.blacklisted_at = now
            return Transition.BLACKLISTED
        return None

    def heartbeat(self, healthy: bool, late: bool, now: float, readmit_after_s: float) -> Transition | None:
        if self.blacklisted:
            if healthy and not self.by_hand and now - self.blacklisted_at >= readmit_after_s:
                self.blacklisted = False
                self.score = READMIT
                return Transition.READMITTED
            return None
        if not healthy:
            return self.record(FAILURE, now)
        return self.record(ERROR if late else SUCCESS, now)
