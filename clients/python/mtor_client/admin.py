"""The sysop's client for mtor.v1.Admin: users, tokens, notices, audit.

    from mtor_client.admin import AdminClient

    with AdminClient(token=sysop_token) as admin:
        admin.create_user("alice")
        print(admin.create_token("alice").token)   # shown once

Every call needs a sysop's token; others get PermissionDenied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Callable, TypeVar

import grpc

from mtor_client._channel import resolve, sync_channel
from mtor_client._convert import time_from_proto
from mtor_client._proto.mtor.v1 import admin_pb2, admin_pb2_grpc
from mtor_client.errors import InvalidArgument, error_from_rpc

_T = TypeVar("_T")
ROLES = {"user": admin_pb2.ROLE_USER, "sysop": admin_pb2.ROLE_SYSOP}
PURPOSES = {admin_pb2.TOKEN_PURPOSE_USER: "user", admin_pb2.TOKEN_PURPOSE_JOIN: "join"}


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str  # "user" or "sysop"
    created_at: datetime | None
    banned: bool
    ban_reason: str
    live_tokens: int


@dataclass(frozen=True)
class TokenInfo:
    prefix: str
    purpose: str  # "user" or "join"
    user: str
    label: str
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    token: str  # the secret: shown this once
    info: TokenInfo


@dataclass(frozen=True)
class AuditEntry:
    time: datetime | None
    actor: str
    action: str
    target: str
    detail: str


def _role(name: str) -> int:
    if name not in ROLES:
        raise InvalidArgument(f"role {name!r}: use one of {', '.join(ROLES)}")
    return ROLES[name]


def _user(msg: admin_pb2.UserInfo) -> UserInfo:
    role = next((k for k, v in ROLES.items() if v == msg.role), "")
    return UserInfo(msg.name, role, time_from_proto(msg.created_at), msg.banned, msg.ban_reason, msg.live_tokens)


def _token(msg: admin_pb2.TokenInfo) -> TokenInfo:
    def when(field: str) -> datetime | None:
        return time_from_proto(getattr(msg, field)) if msg.HasField(field) else None

    return TokenInfo(msg.prefix, PURPOSES.get(msg.purpose, ""), msg.user, msg.label,
                     when("created_at"), when("expires_at"), when("revoked_at"))


class AdminClient:
    """A sysop's connection to one realm (same target and token rules as Client)."""

    def __init__(self, target: str | None = None, *, token: str | None = None, timeout: float | None = 30.0,
                 options: list[tuple[str, Any]] | None = None) -> None:
        self._endpoint = resolve(target, token, options)
        self._timeout = timeout
        self._channel = sync_channel(self._endpoint)
        self._stub = admin_pb2_grpc.AdminStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _call(self, method: str, request: Any, convert: Callable[[Any], _T]) -> _T:
        try:
            response = getattr(self._stub, method)(request, timeout=self._timeout, metadata=self._endpoint.metadata)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return convert(response)

    # -- users --

    def users(self) -> list[UserInfo]:
        return self._call("ListUsers", admin_pb2.ListUsersRequest(), lambda r: [_user(u) for u in r.users])

    def create_user(self, name: str, role: str = "user") -> UserInfo:
        return self._call("CreateUser", admin_pb2.CreateUserRequest(name=name, role=_role(role)), _user)

    def set_role(self, name: str, role: str) -> UserInfo:
        return self._call("SetRole", admin_pb2.SetRoleRequest(name=name, role=_role(role)), _user)

    def ban(self, name: str, reason: str = "") -> UserInfo:
        """Refuse the user's calls from now on and cancel their queued and running intents."""
        return self._call("BanUser", admin_pb2.BanUserRequest(name=name, reason=reason), _user)

    def unban(self, name: str) -> UserInfo:
        return self._call("UnbanUser", admin_pb2.UnbanUserRequest(name=name), _user)

    def terminate(self, name: str) -> int:
        """Cancel the user's queued and running intents; how many."""
        return self._call("TerminateUser", admin_pb2.TerminateUserRequest(name=name), lambda r: r.cancelled)

    # -- tokens --

    def create_token(self, user: str, *, label: str = "", ttl_s: float = 0) -> NewToken:
        request = admin_pb2.CreateTokenRequest(purpose=admin_pb2.TOKEN_PURPOSE_USER, user=user, label=label,
                                               ttl_s=ttl_s)
        return self._call("CreateToken", request, lambda r: NewToken(r.token, _token(r.info)))

    def create_join_token(self, *, label: str = "", ttl_s: float = 0) -> NewToken:
        request = admin_pb2.CreateTokenRequest(purpose=admin_pb2.TOKEN_PURPOSE_JOIN, label=label, ttl_s=ttl_s)
        return self._call("CreateToken", request, lambda r: NewToken(r.token, _token(r.info)))

    def tokens(self, user: str = "", *, include_dead: bool = False) -> list[TokenInfo]:
        request = admin_pb2.ListTokensRequest(user=user, include_dead=include_dead)
        return self._call("ListTokens", request, lambda r: [_token(t) for t in r.tokens])

    def revoke_token(self, prefix: str) -> TokenInfo:
        return self._call("RevokeToken", admin_pb2.RevokeTokenRequest(prefix=prefix), _token)

    # -- notices and audit --

    def broadcast(self, text: str) -> int:
        """Send a notice to every caller following notices; how many received it."""
        return self._call("Broadcast", admin_pb2.BroadcastRequest(text=text), lambda r: r.recipients)

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        return self._call("ListAudit", admin_pb2.ListAuditRequest(limit=limit), lambda r: [
            AuditEntry(time_from_proto(e.time), e.actor, e.action, e.target, e.detail) for e in r.entries])
