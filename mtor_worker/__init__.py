"""MTOR worker: runs AI backends and serves a realm over one outbound stream.

Kept import-light (no grpc, no model libraries) so that `mtor --help` and the
CLI stay fast; the runtime pulls in grpc when it is used.
"""

from mtor_common import PROTOCOL  # noqa: F401 (the worker speaks the realm's revision; one constant for both)

VERSION = "0.1.0"
"""Version of the worker software, sent in WorkerHello for people."""
