"""The MTOR realm: queues intents, dispatches them to workers, accounts for them."""

__version__ = "0.1.0"

from mtor_common import PROTOCOL  # noqa: F401 (the realm speaks the shared revision)
