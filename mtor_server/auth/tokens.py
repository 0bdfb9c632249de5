"""Bearer secrets: random, shown once, kept only as a hash."""
from __future__ import annotations

import hashlib
import secrets
from typing import Iterable

PREFIX_CHARS = 12
"""How much of a token listings show (and revoke accepts): "mtor_" and 7 random characters."""


def new_token() -> str:
    return "mtor_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_CHARS]


def bearer(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The call's bearer token: None when it has no authorization header, "" when the header is malformed."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            scheme, _, token = text.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None
