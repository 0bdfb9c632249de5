"""What a finished intent is charged: its ledger row (written with its outcome, before it is sent) and the
quota's spend. A subscriber of the intent book."""
from __future__ import annotations

import time

from mtor_client.kinds import WORKER_KINDS

from ..lifecycle import Finished
from ..records import LiveIntent
from ..store import Statement
from .ledger import Ledger, LedgerRow
from .quota import Quotas


class Accountant:
    def __init__(self, ledger: Ledger, quotas: Quotas, realm_name: str) -> None:
        self.ledger, self.quotas, self.realm_name = ledger, quotas, realm_name

    def __call__(self, intent: LiveIntent, finished: Finished) -> Statement:
        life = intent.life
        at = life.finished_at or time.time()
        started = life.started_at if life.started_at is not None else at
        usage = life.result.usage if life.result is not None else None
        # a composed intent (converse) is billed through its steps, each an intent of its own
        cost = usage.cost if usage is not None and intent.kind in WORKER_KINDS else 0.0
        realm = life.result.realm if life.result is not None and life.result.realm else self.realm_name
        row = LedgerRow(intent.id, intent.user, intent.kind, intent.model, life.worker, realm,
                        usage.queue_wait_s if usage is not None else started - intent.created_at,
                        usage.processing_s if usage is not None else at - started,
                        cost, life.state, at)
        self.quotas.charge(intent.user, cost, at)
        return self.ledger.statement(row)
