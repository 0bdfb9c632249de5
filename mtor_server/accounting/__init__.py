from .accountant import Accountant
from .cost import intent_cost
from .ledger import SCHEMA as LEDGER_SCHEMA
from .ledger import KindTotals, Ledger, LedgerRow
from .presence import Presence
from .quota import SCHEMA as QUOTA_SCHEMA
from .quota import Limits, Quotas, QuotaStatus

__all__ = ["LEDGER_SCHEMA", "QUOTA_SCHEMA", "Accountant", "KindTotals", "Ledger", "LedgerRow", "Limits", "Presence",
           "Quotas", "QuotaStatus", "intent_cost"]
