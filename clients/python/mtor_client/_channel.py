"""How to reach a realm: address, credentials and call metadata.

Shared by the sync and async clients so both read the same environment
variables and speak to the same targets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import grpc

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
class Endpoint:
    """A resolved realm address plus what every call must carry."""

    address: str
    secure: bool
    metadata: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...]


def resolve(
    target: str | None, token: str | None, options: list[tuple[str, Any]] | None
) -> Endpoint:
    """Fill in defaults from the environment and split off a URL scheme.

    "grpcs://" or "https://" asks for TLS with the system's root
    certificates; "grpc://", "http://" or no scheme is plaintext. Any other
    gRPC target syntax ("dns:///...", "unix:...") passes through unchanged.
    """
    target = target or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    secure = False
    for scheme in _SECURE_SCHEMES:
        if target.startswith(scheme):
            target, secure = target[len(scheme) :], True
    for scheme in _PLAIN_SCHEMES:
        if target.startswith(scheme):
            target = target[len(scheme) :]
    target = target.rstrip("/")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    opts = list(options or [])
    given = {key for key, _ in opts}
    opts.extend(option for option in _DEFAULT_OPTIONS if option[0] not in given)
    return Endpoint(target, secure, metadata, tuple(opts))


def sync_channel(endpoint: Endpoint) -> grpc.Channel:
    if endpoint.secure:
        return grpc.secure_channel(
            endpoint.address, grpc.ssl_channel_credentials(), options=endpoint.options
        )
    return grpc.insecure_channel(endpoint.address, options=endpoint.options)


def aio_channel(endpoint: Endpoint) -> grpc.aio.Channel:
    if endpoint.secure:
        return grpc.aio.secure_channel(
            endpoint.address, grpc.ssl_channel_credentials(), options=endpoint.options
        )
    return grpc.aio.insecure_channel(endpoint.address, options=endpoint.options)
