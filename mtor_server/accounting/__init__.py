from .cost import intent_cost

__all__ = ["intent_cost"]
