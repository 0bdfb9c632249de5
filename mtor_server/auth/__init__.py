from .identity import ANONYMOUS, Identity, identify

__all__ = ["ANONYMOUS", "Identity", "identify"]
