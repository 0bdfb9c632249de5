from .picker import pick_worker
from .workers import ConnectedWorker

__all__ = ["ConnectedWorker", "pick_worker"]
