from .fair import FairQueue, QueueFull

__all__ = ["FairQueue", "QueueFull"]
