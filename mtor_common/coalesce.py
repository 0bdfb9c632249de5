"""Messages that were ready together, sent as fewer: a run of consecutive updates (or assignments) goes in
one message, since each gRPC message costs far more in Python than its bytes. Both ends of WorkerLink use
it, each only when the other said it takes batches."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, Protocol, TypeVar

M = TypeVar("M")
T = TypeVar("T")
Q = TypeVar("Q", covariant=True)


class Queued(Protocol, Generic[Q]):
    """An asyncio.Queue, or anything else that can say it is empty and hand over what it holds."""

    def empty(self) -> bool: ...

    def get_nowait(self) -> Q: ...


def ready(first: M, queue: Queued[M]) -> list[M]:
    """`first` and everything else queued now, in order."""
    out = [first]
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def coalesced(messages: list[M], item: Callable[[M], T | None], pack: Callable[[list[T]], M]) -> Iterator[M]:
    """`messages` in order, with each run of two or more consecutive ones that `item` picks out (it returns
    what to pack, or None for a message to leave alone) replaced by `pack(run)`."""
    run: list[T] = []
    runs: list[M] = []  # the run's messages as they were, for a run of one
    for message in messages:
        if (picked := item(message)) is not None:
            run.append(picked)
            runs.append(message)
            continue
        if run:
            yield runs[0] if len(run) == 1 else pack(run)
            run, runs = [], []
        yield message
    if run:
        yield runs[0] if len(run) == 1 else pack(run)
