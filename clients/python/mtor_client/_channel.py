"""How to reach a realm: address, credentials, call metadata and the channel.

Shared by the sync and async clients so both read the same environment
variables and speak to the same targets. Connection and AsyncConnection hold
each client's channel and stubs: the one place where opening and closing
differ between them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from mtor_client._proto.mtor.v1 import account_pb2_grpc, intents_pb2_grpc, realm_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:7070"
TARGET_ENV = "MTOR_REALM"
TOKEN_ENV = "MTOR_TOKEN"
USER_AGENT = "mtor-client-python/0.1.0"

# Audio and images travel inside messages: allow what a realm allows by default
# (gRPC's own limit is 4 MiB, about 90 s of speech as WAV).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# gRPC's own reconnect backoff grows to 2 minutes; capping it like the
# client's re-attach backoff lets a restarted realm be found within seconds.
_DEFAULT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.primary_user_agent", USER_AGENT),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)

_SECURE_SCHEMES = ("grpcs://", "https://")
_PLAIN_SCHEMES = ("grpc://", "http://")


@dataclass(frozen=True)
class TLS:
    """TLS material for reaching a realm, as PEM bytes (`TLS.from_files` reads files).

    Giving one to a client turns TLS on. `ca`: the certificate(s) that sign
    the realm's certificate; None trusts the system's roots. `cert` and
    `key`: this client's certificate chain and private key, for a realm that
    requires mutual TLS; both or neither.
    """

    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = field(default=None, repr=False)  # a secret: kept out of reprs and logs

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("TLS: a client certificate needs its key and a key its certificate (cert and key)")

    @classmethod
    def from_files(
        cls,
        ca: str | os.PathLike[str] | None = None,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
    ) -> TLS:
        """Read PEM files (None or "": not given); a missing, unreadable or
        non-PEM file raises OSError or ValueError naming it."""
        return cls(*(None if path is None or path == "" else read_pem(path) for path in (ca, cert, key)))


def read_pem(path: str | os.PathLike[str]) -> bytes:
    """A PEM file's bytes, checked for a PEM header so that a wrong file is
    named here rather than failing every handshake later."""
    file = Path(path).expanduser()
    data = file.read_bytes()
    if b"-----BEGIN " not in data:
        raise ValueError(f"{file} is not a PEM file (no '-----BEGIN' line)")
    return data


def channel_credentials(tls: TLS | None) -> grpc.ChannelCredentials:
    """Credentials for a TLS channel; None trusts the system's roots and presents no certificate."""
    if tls is None:
        return grpc.ssl_channel_credentials()
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
    )


@dataclass(frozen=True)
class Endpoint:
    """A resolved realm address plus what every call must carry."""

    address: str
    secure: bool
    metadata: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...]
    tls: TLS | None = None


def split_target(target: str, tls: TLS | None = None) -> tuple[str, bool]:
    """(address, whether to use TLS) for a target, one rule for every caller.

    "grpcs://" or "https://" asks for TLS; so does giving `tls`, with no
    scheme too. "grpc://", "http://" or no scheme without `tls` is plaintext;
    a plaintext scheme with `tls` is a contradiction and raises ValueError.
    Any other gRPC target syntax ("dns:///...", "unix:...") passes through.
    """
    for schemes, secure in ((_SECURE_SCHEMES, True), (_PLAIN_SCHEMES, False)):
        for scheme in schemes:
            if target.startswith(scheme):
                address = target[len(scheme) :].rstrip("/")
                if tls is not None and not secure:
                    raise ValueError(
                        f"realm {target!r} is written as plaintext but TLS material was given; "
                        f"write it grpcs://{address} or leave the scheme out"
                    )
                return address, secure
    return target.rstrip("/"), tls is not None


def resolve(
    target: str | None,
    token: str | None,
    options: list[tuple[str, Any]] | None,
    tls: TLS | None = None,
) -> Endpoint:
    """Fill in defaults from the environment and split off a URL scheme
    (see split_target: TLS for grpcs:// or when `tls` is given)."""
    target = target or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    address, secure = split_target(target, tls)
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    opts = list(options or [])
    given = {key for key, _ in opts}
    opts.extend(option for option in _DEFAULT_OPTIONS if option[0] not in given)
    return Endpoint(address, secure, metadata, tuple(opts), tls)


def sync_channel(endpoint: Endpoint) -> grpc.Channel:
    if endpoint.secure:
        return grpc.secure_channel(
            endpoint.address, channel_credentials(endpoint.tls), options=endpoint.options
        )
    return grpc.insecure_channel(endpoint.address, options=endpoint.options)


def aio_channel(endpoint: Endpoint) -> grpc.aio.Channel:
    if endpoint.secure:
        return grpc.aio.secure_channel(
            endpoint.address, channel_credentials(endpoint.tls), options=endpoint.options
        )
    return grpc.aio.insecure_channel(endpoint.address, options=endpoint.options)


@dataclass(frozen=True)
class Stubs:
    """The client's services on one channel."""

    channel: Any  # grpc.Channel or grpc.aio.Channel
    intents: intents_pb2_grpc.IntentsStub
    realm: realm_pb2_grpc.RealmInfoStub
    account: account_pb2_grpc.AccountStub

    @classmethod
    def on(cls, channel: Any) -> Stubs:
        return cls(
            channel,
            intents_pb2_grpc.IntentsStub(channel),
            realm_pb2_grpc.RealmInfoStub(channel),
            account_pb2_grpc.AccountStub(channel),
        )


class Connection:
    """A sync channel to a realm, opened at once; usable from any thread."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._stubs = Stubs.on(sync_channel(endpoint))

    def stubs(self) -> Stubs:
        return self._stubs

    def close(self) -> None:
        self._stubs.channel.close()


class AsyncConnection:
    """A grpc.aio channel to a realm, opened on first use: aio channels belong
    to the event loop they are made in. Closing it lets the next use open a new one."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._stubs: Stubs | None = None

    def stubs(self) -> Stubs:
        if self._stubs is None:
            self._stubs = Stubs.on(aio_channel(self.endpoint))
        return self._stubs

    async def close(self) -> None:
        stubs, self._stubs = self._stubs, None
        if stubs is not None:
            await stubs.channel.close()
