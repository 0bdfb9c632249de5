from .sqlite import IntentRow, Store

__all__ = ["IntentRow", "Store"]
