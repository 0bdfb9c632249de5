"""Usage reports from the ledger, for Account.Usage and Admin.Stats."""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import account_pb2
from mtor_client.kinds import to_proto

from ..accounting import Ledger, Quotas, QuotaStatus
from ..records import stamp


def quota_status(status: QuotaStatus) -> account_pb2.QuotaStatus:
    out = account_pb2.QuotaStatus(requests_per_minute=status.limits.requests_per_minute,
                                  budget=status.limits.budget, budget_period_s=status.budget_period_s,
                                  spent=status.spent)
    stamp(out.period_ends, status.period_ends)
    return out


async def usage_report(ledger: Ledger, quotas: Quotas, user: str | None) -> account_pb2.UsageReport:
    """One user's usage with their quota, or (None) the whole realm's."""
    report = account_pb2.UsageReport(user=user or "")
    for totals in await ledger.totals(user):
        report.kinds.add(kind=to_proto(totals.kind), intents=totals.intents, succeeded=totals.succeeded,
                         processing_s=totals.processing_s, queue_wait_s=totals.queue_wait_s, cost=totals.cost,
                         mean_service_s=totals.mean_service_s)
        report.intents += totals.intents
        report.processing_s += totals.processing_s
        report.cost += totals.cost
    if user is not None:
        report.quota.CopyFrom(quota_status(quotas.status(user)))
    return report
