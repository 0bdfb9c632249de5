"""The peer realms this realm trusts: who they are, where to call them, what is accepted from them.

Their incoming tokens are tokens of purpose "peer" (auth.accounts, hashed); the token this realm
presents when it calls a peer was made by that peer and must be sent as is, so it is kept in clear
in this table: the data dir must be guarded as the sysop's token is.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import grpc

from mtor_server.errors import RealmError
from mtor_server.store import Schema, Store
from mtor_server.store.sql import upsert

SCHEMA = Schema("peers", ({"sqlite": """
CREATE TABLE IF NOT EXISTS peers (
    name        TEXT PRIMARY KEY,       -- as this realm's sysop calls it
    address     TEXT NOT NULL DEFAULT '',  -- where this realm calls it; '': where discovery shows it
    token       TEXT NOT NULL DEFAULT '',  -- the token it made for this realm, sent when calling it;
                                           -- '': this realm does not call it
    realm_id    TEXT NOT NULL DEFAULT '',  -- learned at its first Hello; later Hellos must match
    kinds       TEXT NOT NULL DEFAULT '',  -- kinds accepted from it, comma-separated; '': all
    created_at  REAL NOT NULL              -- unix seconds
);
""", "postgresql": """
CREATE TABLE IF NOT EXISTS peers (
    name        TEXT PRIMARY KEY,
    address     TEXT NOT NULL DEFAULT '',
    token       TEXT NOT NULL DEFAULT '',

    realm_id    TEXT NOT NULL DEFAULT '',
    kinds       TEXT NOT NULL DEFAULT '',
    created_at  DOUBLE PRECISION NOT NULL
);
"""},))
_WRITE = upsert("peers", ("name", "address", "token", "realm_id", "kinds", "created_at"), key=("name",))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Peer:
    name: str
    address: str
    token: str
    realm_id: str
    kinds: frozenset[str]
    """Kinds accepted from it; empty: all."""
    created_at: float

    def accepts(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class PeerBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._peers: dict[str, Peer] = {}

    @classmethod
    async def open(cls, store: Store) -> "PeerBook":
        book = cls(store)
        for name, address, token, realm_id, kinds, created_at in await store.fetchall(
                "SELECT name, address, token, realm_id, kinds, created_at FROM peers"):
            book._peers[name] = Peer(name, address, token, realm_id, frozenset(filter(None, kinds.split(","))),
                                     created_at)
        return book

    def all(self) -> list[Peer]:
        return sorted(self._peers.values(), key=lambda p: p.name)

    def get(self, name: str) -> Peer:
        peer = self._peers.get(name)
        if peer is None:
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no peer realm named {name!r}")
        return peer

    def find(self, name: str) -> Peer | None:
        return self._peers.get(name)

    async def put(self, name: str, address: str, token: str, kinds: frozenset[str]) -> tuple[Peer, bool]:
        """Add a peer, or change one: what is left empty keeps its value, the learned realm id is kept.
        (the peer, whether it is new)."""
        if not _NAME.match(name):
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT,
                             f"peer name {name!r}: use 1-64 letters, digits, . _ -")
        old = self._peers.get(name)
        if old is not None:
            address, token, kinds = address or old.address, token or old.token, kinds or old.kinds
        if address and not token:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, "a peer with an address needs the token its sysop "
                             "made for this realm (mtor admin peer add ... --peer-token); with the token and no "
                             "address, this realm calls it where the local network shows it")
        peer = Peer(name, address, token, old.realm_id if old else "", kinds, old.created_at if old else time.time())
        await self.store.write(_WRITE, (name, address, token, peer.realm_id,
                                                             ",".join(sorted(kinds)), peer.created_at))
        self._peers[name] = peer
        return peer, old is None

    async def learned_id(self, name: str, realm_id: str) -> Peer:
        self.get(name)
        await self.store.write("UPDATE peers SET realm_id = ? WHERE name = ?", (realm_id, name))
        peer = self._peers[name] = replace(self.get(name), realm_id=realm_id)  # the peer as it is by then
        return peer

    async def remove(self, name: str) -> Peer:
        self.get(name)
        await self.store.write("DELETE FROM peers WHERE name = ?", (name,))
        peer = self.get(name)  # NOT_FOUND also when a concurrent remove took it while this one was written
        del self._peers[name]
        return peer
