"""The MTOR realm: queues intents, dispatches them to workers, accounts for them."""

__version__ = "0.1.0"

PROTOCOL = 1
"""WorkerLink protocol revision, the same for realms and workers (a realm refuses workers of another);
announced in DNS-SD TXT records as `protocol`."""
