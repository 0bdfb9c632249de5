"""A peer realm as the realm's dispatcher sees it: an executor whose capabilities and free slots are those of
the peer's last capacity report, and whose assignments become Forward calls on its link (link.py)."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mtor_client._proto.mtor.v1 import federation_pb2, intent_pb2
from mtor_client.kinds import name_of

from mtor_server.scheduler.executor import Assignment, Offer, PeerExecutor, TakenBy


@dataclass(frozen=True)
class Cancel:
    assignment_id: str


@dataclass(eq=False)
class PeerWorker(PeerExecutor):
    report: federation_pb2.Capacity = field(default_factory=federation_pb2.Capacity)
    reported_at: float = 0.0  # unix seconds
    offers: dict[str, Offer] = field(default_factory=dict)  # per kind; its models are in `capabilities`
    reports: int = 0  # reports taken, to tell forwards the last report counted from those it did not
    # per kind, since the last report: forwards started and still running (the report did not count them),
    # and forwards it counted that have ended (their slots are free again): so that the next intent does
    # not wait for the next report to see the peer's capacity as it is
    sent: dict[str, int] = field(default_factory=dict)
    freed: dict[str, int] = field(default_factory=dict)
    jobs: asyncio.Queue[Assignment | Cancel | None] = field(default_factory=asyncio.Queue)
    """What the link's forwarder carries out: an assignment is a Forward call, a cancel ends one, None the link."""

    def run(self, assignment: Assignment) -> None:
        self.jobs.put_nowait(assignment)

    def cancel(self, assignment_id: str, reason: str) -> None:
        self.jobs.put_nowait(Cancel(assignment_id))

    def close(self) -> None:
        self.jobs.put_nowait(None)

    def taken(self, realm: str) -> TakenBy | None:
        return None

    def settle(self, result: intent_pb2.IntentResult, processing_s: float, realm: str) -> float:
        """Served there: its worker, realm and processing time (not its queue wait), which cannot make it a
        credit nor exceed the time this realm waited."""
        return max(0.0, min(processing_s, result.usage.processing_s))

    def take_report(self, report: federation_pb2.Capacity) -> None:
        self.report, self.reported_at = report, time.time()
        self.reports += 1
        self.offers, self.capabilities = {}, {}
        for k in report.kinds:
            kind = name_of(k.kind)
            if kind is not None:
                self.offers[kind] = Offer(k.free_slots, k.queue_depth, k.hops, k.cost_base, k.cost_per_second)
                self.capabilities[kind] = frozenset(k.models)
        self.sent, self.freed = {}, {}
        self.draining = not report.healthy
        self.max_concurrency = len(self.running) + sum(o.free_slots for o in self.offers.values())

    def offer(self, kind: str, model: str) -> Offer | None:
        if not self.serves(kind, model):
            return None
        offer = self.offers[kind]
        change = self.freed.get(kind, 0) - self.sent.get(kind, 0)
        return offer if not change else Offer(max(0, offer.free_slots + change), offer.queue_depth, offer.hops,
                                              offer.cost_base, offer.cost_per_second)

    def forwarded(self, kind: str) -> int:
        """A forward of `kind` starts; returns what to pass to forward_ended."""
        self.sent[kind] = self.sent.get(kind, 0) + 1
        return self.reports

    def forward_ended(self, kind: str, started_at_report: int) -> None:
        if started_at_report == self.reports:  # the last report did not count it
            self.sent[kind] -= 1
        else:  # it did, as busy
            self.freed[kind] = self.freed.get(kind, 0) + 1
