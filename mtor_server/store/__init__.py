from .sqlite import IntentRow, Store, log_failure

__all__ = ["IntentRow", "Store", "log_failure"]
