"""The MTOR realm: queues intents, dispatches them to workers, accounts for them."""

__version__ = "0.1.0"
