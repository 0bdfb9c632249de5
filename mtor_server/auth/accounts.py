"""Users, their roles and tokens, and the workers' join tokens.

Every call is checked against this table, so it lives in memory (a realm has
users by the dozen, not the million) and each change is written through to
the store before the call that made it returns.
"""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, replace
from typing import Iterable

import grpc

from mtor_common.address import host_of, is_loopback
from mtor_common.config import Config, ConfigError

from ..errors import RealmError
from ..store import IntegrityError, Schema, Store
from ..store.sql import META_WRITE
from .tokens import bearer, new_token, token_hash, token_prefix

log = logging.getLogger("mtor.auth")

USER, SYSOP = "user", "sysop"
ROLES = (USER, SYSOP)
ANONYMOUS = "anonymous"
"""The caller without a token, where the realm allows one; a reserved name."""
FIRST_SYSOP = "sysop"
SYSOP_TOKEN_ENV = "MTOR_SYSOP_TOKEN"
JOIN_TOKEN_ENV = "MTOR_JOIN_TOKEN"
USER_TOKEN, JOIN_TOKEN, PEER_TOKEN = "user", "join", "peer"
MAX_TTL_S = 100 * 365.25 * 86400
"""The longest life a token may be given."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

SCHEMA = Schema("accounts", ({"sqlite": """
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL,          -- user | sysop
    created_at  REAL NOT NULL,          -- unix seconds
    banned_at   REAL,                   -- unix seconds; NULL while not banned
    ban_reason  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS tokens (
    hash        TEXT PRIMARY KEY,       -- sha256 of the token; the token itself is never stored
    prefix      TEXT NOT NULL,          -- its first characters, for listings
    purpose     TEXT NOT NULL,          -- user (acts as `user`) | join (lets a worker join) | peer (a peer realm)
    user        TEXT NOT NULL DEFAULT '',  -- the user; for a peer token, the peer's name
    label       TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    expires_at  REAL,                   -- unix seconds; NULL: never
    revoked_at  REAL
);
""", "postgresql": """
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    banned_at   DOUBLE PRECISION,
    ban_reason  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS tokens (
    hash        TEXT PRIMARY KEY,
    prefix      TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    "user"      TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION,
    revoked_at  DOUBLE PRECISION
);
"""},))


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: float
    banned_at: float | None = None
    ban_reason: str = ""


@dataclass(frozen=True)
class Token:
    hash: str
    prefix: str
    purpose: str
    user: str
    label: str
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None

    def alive(self) -> bool:
        return not self.problem(time.time())

    def problem(self, now: float) -> str:
        """Why this token is no good now; empty when it is."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return ""


@dataclass(frozen=True)
class Caller:
    """Who is calling, as established by their token."""

    user: str
    role: str

    @property
    def is_sysop(self) -> bool:
        return self.role == SYSOP


def unauthenticated(message: str) -> RealmError:
    return RealmError(grpc.StatusCode.UNAUTHENTICATED, message)


def anonymous_allowed(cfg: Config) -> bool:
    """auth.anonymous, with `loopback` resolved against realm.listen."""
    setting = cfg.auth.anonymous.strip().lower()
    if setting not in ("on", "off", "loopback"):
        raise ConfigError(f"auth.anonymous = {cfg.auth.anonymous!r}: use on, off or loopback")
    return setting == "on" or (setting == "loopback" and is_loopback(host_of(cfg.realm.listen)))


class Accounts:
    def __init__(self, store: Store, anonymous: bool) -> None:
        self.store = store
        self.anonymous = anonymous
        self._users: dict[str, User] = {}
        self._tokens: dict[str, Token] = {}

    @classmethod
    async def open(cls, store: Store, anonymous: bool) -> "Accounts":
        accounts = cls(store, anonymous)
        for row in await store.fetchall("SELECT name, role, created_at, banned_at, ban_reason FROM users"):
            accounts._users[row[0]] = User(*row)
        for row in await store.fetchall('SELECT hash, prefix, purpose, "user", label, created_at, expires_at, '
                                        "revoked_at FROM tokens"):
            accounts._tokens[row[0]] = Token(*row)
        return accounts

    async def bootstrap(self) -> list[str]:
        """On a realm's first start: the first sysop and a join token. Returns what to show, once."""
        if await self.store.fetchall("SELECT value FROM meta WHERE key = 'accounts_created'"):
            return []
        shown = []
        await self.create_user(FIRST_SYSOP, SYSOP)
        sysop = os.environ.get(SYSOP_TOKEN_ENV, "").strip()
        secret, _ = await self.issue_token(FIRST_SYSOP, label="first sysop", secret=sysop or None)
        shown.append(f"sysop token (from ${SYSOP_TOKEN_ENV})" if sysop else
                     f"sysop token, shown only now, keep it: {secret}")
        join = os.environ.get(JOIN_TOKEN_ENV, "").strip()
        secret, _ = await self.issue_join_token(label="first join token", secret=join or None)
        shown.append(f"worker join token (from ${JOIN_TOKEN_ENV})" if join else
                     f"worker join token, shown only now (mtor worker --join-token ...): {secret}")
        await self.store.write(META_WRITE, ("accounts_created", str(time.time())))
        return shown

    # ------------------------------------------------------------ checks --

    def caller(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
        """The caller of a user call, or UNAUTHENTICATED / PERMISSION_DENIED."""
        token = bearer(metadata)
        if token is None:
            if not self.anonymous:
                raise unauthenticated("this realm needs a token: send `authorization: Bearer <token>`")
            return Caller(ANONYMOUS, USER)
        record = self._valid(token, USER_TOKEN)
        user = self._users.get(record.user)
        if user is None:
            raise unauthenticated("the token's user no longer exists")
        if user.banned_at is not None:
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED,
                             "you are banned" + (f": {user.ban_reason}" if user.ban_reason else ""))
        return Caller(user.name, user.role)

    def sysop(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
        caller = self.caller(metadata)
        if not caller.is_sysop:
            raise RealmError(grpc.StatusCode.PERMISSION_DENIED, f"{caller.user} is not a sysop")
        return caller

    def check_join(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> None:
        """A joining worker must present a valid join token."""
        token = bearer(metadata)
        if not token:
            raise unauthenticated("a worker needs a join token (mtor worker --join-token, or $MTOR_JOIN_TOKEN)")
        self._valid(token, JOIN_TOKEN)

    def peer(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        """The name of the peer realm calling (Federation), or UNAUTHENTICATED."""
        token = bearer(metadata)
        if not token:
            raise unauthenticated("a peer realm needs its peer token (mtor admin peer add, on this realm)")
        return self._valid(token, PEER_TOKEN).user

    def _valid(self, token: str, purpose: str) -> Token:
        record = self._tokens.get(token_hash(token)) if token else None
        what = {JOIN_TOKEN: "join token", PEER_TOKEN: "peer token"}.get(purpose, "token")
        if record is None or record.purpose != purpose:
            raise unauthenticated(f"unknown {what} (prefix {token_prefix(token)!r})" if token else
                                  "malformed authorization header: expected `Bearer <token>`")
        problem = record.problem(time.time())
        if problem:
            raise unauthenticated(f"{what} {record.prefix}... is {problem}")
        return record

    # ------------------------------------------------------------- users --

    def users(self) -> list[User]:
        return sorted(self._users.values(), key=lambda u: u.name)

    def user(self, name: str) -> User:
        user = self._users.get(name)
        if user is None:
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no user named {name!r}")
        return user

    async def create_user(self, name: str, role: str = USER) -> User:
        if not _NAME.match(name) or name == ANONYMOUS:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT,
                             f"user name {name!r}: use 1-64 letters, digits, . _ @ - (and not {ANONYMOUS!r})")
        _check_role(role)
        exists = RealmError(grpc.StatusCode.ALREADY_EXISTS, f"user {name!r} already exists")
        if name in self._users:
            raise exists
        user = User(name, role, time.time())
        try:
            await self.store.write("INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)",
                                   (name, role, user.created_at))
        except IntegrityError:  # a concurrent create of the same name was written first
            raise exists from None
        self._users[name] = user
        return user

    async def set_role(self, name: str, role: str) -> User:
        _check_role(role)
        return await self._change(name, "UPDATE users SET role = ? WHERE name = ?", (role, name), role=role)

    async def ban(self, name: str, reason: str) -> User:
        now = time.time()
        return await self._change(name, "UPDATE users SET banned_at = ?, ban_reason = ? WHERE name = ?",
                                  (now, reason, name), banned_at=now, ban_reason=reason)

    async def unban(self, name: str) -> User:
        return await self._change(name, "UPDATE users SET banned_at = NULL, ban_reason = '' WHERE name = ?",
                                  (name,), banned_at=None, ban_reason="")

    async def _change(self, name: str, sql: str, params: tuple[object, ...], **changes: object) -> User:
        """Write a change to a user, then make it to the user as it is by then: a change that landed while
        this one was written (a ban during a SetRole) is kept, not overwritten with what was read before."""
        self.user(name)  # NOT_FOUND before anything is written
        await self.store.write(sql, params)
        user = self._users[name] = replace(self.user(name), **changes)
        return user

    # ------------------------------------------------------------ tokens --

    def tokens(self, user: str | None = None, purpose: str | None = None) -> list[Token]:
        return sorted((t for t in self._tokens.values()
                       if (user is None or t.user == user) and (purpose is None or t.purpose == purpose)),
                      key=lambda t: t.created_at)

    async def issue_token(self, user: str, *, label: str = "", ttl_s: float = 0,
                          secret: str | None = None) -> tuple[str, Token]:
        """A new token for `user`: (the secret, shown once; its record)."""
        self.user(user)
        return await self._issue(USER_TOKEN, user, label, ttl_s, secret)

    async def issue_join_token(self, *, label: str = "", ttl_s: float = 0,
                               secret: str | None = None) -> tuple[str, Token]:
        return await self._issue(JOIN_TOKEN, "", label, ttl_s, secret)

    async def issue_peer_token(self, peer: str) -> tuple[str, Token]:
        """The token peer realm `peer` presents when it calls this realm."""
        return await self._issue(PEER_TOKEN, peer, f"peer realm {peer}", 0, None)

    async def revoke_peer_tokens(self, peer: str) -> None:
        for token in self.tokens(peer, PEER_TOKEN):
            if token.revoked_at is None:
                await self.revoke_token(token)

    async def _issue(self, purpose: str, user: str, label: str, ttl_s: float,
                     secret: str | None) -> tuple[str, Token]:
        if not 0 <= ttl_s <= MAX_TTL_S:  # also NaN; and no expiry past what a Timestamp holds
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, f"ttl_s is {ttl_s:g}; give 0 (no expiry) or up to "
                             f"{MAX_TTL_S:.0f} seconds (100 years)")
        secret = secret or new_token()
        now = time.time()
        token = Token(token_hash(secret), token_prefix(secret), purpose, user, label, now,
                      now + ttl_s if ttl_s else None)
        if token.hash in self._tokens:
            raise RealmError(grpc.StatusCode.ALREADY_EXISTS, "that token is already in use")
        await self.store.write('INSERT INTO tokens (hash, prefix, purpose, "user", label, created_at, expires_at) '
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (token.hash, token.prefix, purpose, user, label, now, token.expires_at))
        self._tokens[token.hash] = token
        return secret, token

    async def revoke(self, prefix: str) -> Token:
        """Revoke the one live token whose listing prefix starts with `prefix`."""
        matches = [t for t in self._tokens.values() if prefix and t.prefix.startswith(prefix)
                   and t.revoked_at is None]
        if not matches:
            raise RealmError(grpc.StatusCode.NOT_FOUND, f"no live token starts with {prefix!r}")
        if len(matches) > 1:
            raise RealmError(grpc.StatusCode.INVALID_ARGUMENT,
                             f"{len(matches)} tokens start with {prefix!r}; give more of it")
        return await self.revoke_token(matches[0])

    async def revoke_token(self, token: Token) -> Token:
        token = replace(token, revoked_at=time.time())
        await self.store.write("UPDATE tokens SET revoked_at = ? WHERE hash = ?", (token.revoked_at, token.hash))
        self._tokens[token.hash] = token
        return token


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise RealmError(grpc.StatusCode.INVALID_ARGUMENT, f"role {role!r}: use one of {', '.join(ROLES)}")
