"""What a served intent costs. Queue wait is never billed."""
from __future__ import annotations

from ..config import CostsSection


def intent_cost(costs: CostsSection, processing_s: float) -> float:
    return costs.base + costs.per_second * max(0.0, processing_s)
