"""Which worker gets an intent: one that serves the kind and model, has a free
slot and is not blacklisted or draining; among those the healthiest, then the
least loaded, then the first to join. This scan is the rule stated plainly;
the dispatcher picks from ranking.py, which keeps the workers ranked by it (and
is tested against it)."""
from __future__ import annotations

from typing import Iterable

from .workers import ConnectedWorker


def pick_worker(workers: Iterable[ConnectedWorker], kind: str, model: str) -> ConnectedWorker | None:
    best: ConnectedWorker | None = None
    for w in workers:
        if not (w.available and w.free_slots and w.serves(kind, model)):
            continue
        if best is None or (w.health.score, -w.load) > (best.health.score, -best.load):
            best = w
    return best
