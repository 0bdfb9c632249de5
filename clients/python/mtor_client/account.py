"""Usage and quota values, as Client.usage() and AdminClient.stats() return them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mtor_client._convert import kind_name, time_from_proto
from mtor_client._proto.mtor.v1 import account_pb2


@dataclass(frozen=True)
class KindUsage:
    kind: str
    intents: int  # finished, whatever the outcome
    succeeded: int  # only these are billed
    processing_s: float
    queue_wait_s: float  # recorded, never billed
    cost: float
    mean_service_s: float  # mean processing time of the succeeded ones


@dataclass(frozen=True)
class QuotaStatus:
    requests_per_minute: int  # 0: no limit
    budget: float  # per period; 0: no limit
    budget_period_s: float
    spent: float  # this period
    period_ends: datetime | None


@dataclass(frozen=True)
class UsageReport:
    user: str  # empty for the whole realm
    intents: int
    processing_s: float
    cost: float
    kinds: tuple[KindUsage, ...]
    quota: QuotaStatus | None  # None for the whole realm

    def kind(self, name: str) -> KindUsage | None:
        return next((k for k in self.kinds if k.kind == name), None)


def quota_from_proto(msg: account_pb2.QuotaStatus) -> QuotaStatus:
    return QuotaStatus(msg.requests_per_minute, msg.budget, msg.budget_period_s, msg.spent,
                       time_from_proto(msg.period_ends))


def usage_from_proto(msg: account_pb2.UsageReport) -> UsageReport:
    kinds = tuple(KindUsage(kind_name(k.kind), k.intents, k.succeeded, k.processing_s, k.queue_wait_s, k.cost,
                            k.mean_service_s) for k in msg.kinds)
    return UsageReport(msg.user, msg.intents, msg.processing_s, msg.cost, kinds,
                       quota_from_proto(msg.quota) if msg.HasField("quota") else None)
