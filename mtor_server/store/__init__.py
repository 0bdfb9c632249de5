from .sqlite import IntegrityError, IntentRow, Statement, Store, StoreError, log_failure

__all__ = ["IntegrityError", "IntentRow", "Statement", "Store", "StoreError", "log_failure"]
