"""How an intent travels between realms: the realms it passed and the forwards it may still take."""
from __future__ import annotations

from dataclasses import dataclass

PEER_USER_PREFIX = "peer:"
"""Intents a peer realm forwarded are submitted as the user "peer:NAME": its ledger rows, quota and budget."""


def peer_user(peer: str) -> str:
    return PEER_USER_PREFIX + peer


@dataclass(frozen=True)
class Route:
    """Set on an intent that a peer realm forwarded here."""

    peer: str
    """The peer realm that forwarded it, by the name this realm's sysop gave it."""
    visited: tuple[str, ...]
    """Ids of the realms it passed through, the origin first and this realm last: never forwarded to any of them."""
    hops_left: int
    """Forwards it may still take from here; 0: only this realm's workers may run it."""
    origin_intent_id: str
    origin_user: str
