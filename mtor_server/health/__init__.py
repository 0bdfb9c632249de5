from .score import HealthScore, Transition

__all__ = ["HealthScore", "Transition"]
