"""What the realm, the worker and federation share: addresses, TLS, backoff, the config loader and DNS-SD.
It imports none of them (tests/test_layers.py and `make lint` hold it to that)."""

PROTOCOL = 1
"""WorkerLink protocol revision, the same for realms and workers (a realm refuses workers of another);
announced in DNS-SD TXT records as `protocol`."""
