"""Who is calling, from the call's metadata.

For now every caller is served: a bearer token names a distinct principal (by
a hash of the token, never the token itself) so that per-user fairness works;
calls without one act as the anonymous user. Verified tokens, roles and bans
replace this in the accounts work.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Identity:
    user: str


def identify(metadata: Iterable[tuple[str, str | bytes]] | None) -> Identity:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.lower().startswith("bearer "):
            token = value[7:].strip()
            if token:
                return Identity("token-" + hashlib.sha256(token.encode()).hexdigest()[:12])
    return Identity(ANONYMOUS)
