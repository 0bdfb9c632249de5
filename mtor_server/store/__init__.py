from .schema import Schema
from .sqlite import IntegrityError, IntentRow, Statement, Store, StoreError, log_failure

__all__ = ["IntegrityError", "IntentRow", "Schema", "Statement", "Store", "StoreError", "log_failure"]
