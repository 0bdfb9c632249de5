"""How to reach a realm: TLS settings, targets and channels. Public for the parts built on the SDK (the realm's
TLS config, the worker, federation, the gateway), which open channels of their own rather than a Client."""
from ._channel import TLS, aio_channel, channel_credentials, read_pem, resolve, split_target

__all__ = ["TLS", "aio_channel", "channel_credentials", "read_pem", "resolve", "split_target"]
