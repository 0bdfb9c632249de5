"""The workers ready for an intent, ranked as picker.py ranks them (healthiest, then least loaded, then the
first to join), kept up to date as they change so that a pick among 10,000 workers does not read them all.

Heaps per kind (any model asked), per kind and model, and per kind for the workers that take any model;
entries go stale when a worker changes (`update` pushes fresh ones) and are dropped as they come to the top.
No I/O: the registry calls `update` whenever a worker's health, load or readiness may have changed."""
from __future__ import annotations

import heapq
import itertools
from typing import Iterator

from .workers import ConnectedWorker

ANY = object()
"""The heap key of the workers that serve any model of a kind."""
_Key = tuple[str, object]  # (kind, None | model | ANY)
_Entry = tuple[int, float, int, int, ConnectedWorker]  # (-score, load, joined, version, worker)


class ReadyIndex:
    def __init__(self) -> None:
        self._heaps: dict[_Key, list[_Entry]] = {}
        self._version: dict[str, int] = {}  # worker id -> the version its valid entries carry
        self._joined: dict[str, int] = {}  # worker id -> join order (the tie-break picker.py has)
        self._ranked: dict[str, tuple[int, int, int, bool]] = {}  # worker id -> what its entries were made of
        self._order = itertools.count()

    @staticmethod
    def _ready(worker: ConnectedWorker) -> bool:
        return worker.available and worker.free_slots > 0

    def _keys(self, worker: ConnectedWorker) -> Iterator[_Key]:
        for kind, models in worker.capabilities.items():
            yield kind, None
            if not models:
                yield kind, ANY
            else:
                for model in models:
                    yield kind, model

    def update(self, worker: ConnectedWorker) -> None:
        """The worker joined or changed: its old entries are stale, and it is ranked anew if ready."""
        if worker.id not in self._joined:
            self._joined[worker.id] = next(self._order)
        ranked = (worker.health.score, len(worker.running), worker.max_concurrency, self._ready(worker))
        if self._ranked.get(worker.id) == ranked:
            return  # a heartbeat that changed nothing of it
        self._ranked[worker.id] = ranked
        version = self._version[worker.id] = self._version.get(worker.id, 0) + 1
        if not self._ready(worker):
            return
        entry = (-worker.health.score, worker.load, self._joined[worker.id], version, worker)
        for key in self._keys(worker):
            heap = self._heaps.setdefault(key, [])
            heapq.heappush(heap, entry)
            if len(heap) > 64 and len(heap) > 4 * len(self._version):
                self._compact(heap)

    def remove(self, worker: ConnectedWorker) -> None:
        self._version.pop(worker.id, None)
        self._joined.pop(worker.id, None)
        self._ranked.pop(worker.id, None)

    def _valid(self, entry: _Entry) -> bool:
        worker = entry[4]
        return self._version.get(worker.id) == entry[3] and self._ready(worker)

    def _compact(self, heap: list[_Entry]) -> None:
        heap[:] = [e for e in heap if self._valid(e)]
        heapq.heapify(heap)

    def _top(self, key: _Key) -> _Entry | None:
        heap = self._heaps.get(key)
        while heap:
            if self._valid(heap[0]):
                return heap[0]
            heapq.heappop(heap)
        return None

    def best(self, kind: str, model: str) -> ConnectedWorker | None:
        """What picker.pick_worker would pick among every worker."""
        tops = [self._top((kind, None))] if not model else [self._top((kind, model)), self._top((kind, ANY))]
        found = [t for t in tops if t is not None]
        return min(found)[4] if found else None

    def any_ready(self, kind: str) -> bool:
        return self._top((kind, None)) is not None
