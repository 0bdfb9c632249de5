"""What a served intent costs. Queue wait is never billed."""
from __future__ import annotations

from mtor_common.config import CostsSection


def intent_cost(costs: CostsSection, kind: str, processing_s: float) -> float:
    base, per_second = costs.rates(kind)
    return base + per_second * max(0.0, processing_s)
