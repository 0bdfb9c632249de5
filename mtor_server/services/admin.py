"""mtor.v1.Admin: the sysop's calls. Each checks the caller is a sysop and
writes what it changed to the audit log."""
from __future__ import annotations

import asyncio
import functools
import time
from typing import Any, AsyncIterator, Callable

import grpc
from mtor_client._proto.mtor.v1 import account_pb2, admin_pb2, admin_pb2_grpc, intent_pb2, intents_pb2
from mtor_client.kinds import WORKER_KINDS, name_of, to_proto

from ..accounting import Ledger, Presence, Quotas
from ..admin import AuditLog
from ..auth import SYSOP, USER, Accounts, Caller, Token, User
from ..auth.accounts import JOIN_TOKEN, PEER_TOKEN
from ..changes import Changes
from ..discovery.network import NetworkView
from ..errors import intent_error, invalid
from ..notices import NoticeHub
from ..records import info_from_live, stamp
from ..scheduler import ConnectedWorker
from ..scheduler.dispatcher import Dispatcher
from ..scheduler.pools import Pools
from ..scheduler.registry import Registry
from ._status import streaming, unary
from ._usage import quota_status, usage_report

_ROLES = {admin_pb2.ROLE_USER: USER, admin_pb2.ROLE_SYSOP: SYSOP}
_ROLE_PROTO = {v: k for k, v in _ROLES.items()}


def sysop_call(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse callers who are not sysops; hand the handler the caller."""

    @unary
    @functools.wraps(handler)
    async def wrapper(self: "AdminService", request: Any, context: grpc.aio.ServicerContext) -> Any:
        caller = self.accounts.sysop(context.invocation_metadata())
        return await handler(self, request, caller)

    return wrapper


def sysop_stream(handler: Callable[..., Any]) -> Callable[..., Any]:
    """sysop_call for server-streaming methods."""

    @streaming
    @functools.wraps(handler)
    async def wrapper(self: "AdminService", request: Any, context: grpc.aio.ServicerContext) -> Any:
        caller = self.accounts.sysop(context.invocation_metadata())
        async for item in handler(self, request, caller):
            yield item

    return wrapper


def _role(value: int, default: str | None = None) -> str:
    if value == admin_pb2.ROLE_UNSPECIFIED and default is not None:
        return default
    if value not in _ROLES:
        raise invalid(f"role {value} is not ROLE_USER or ROLE_SYSOP")
    return _ROLES[value]


def _name(value: str, field: str = "name") -> str:
    if not value.strip():
        raise invalid(f"{field} is empty")
    return value.strip()


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(self, *, accounts: Accounts, audit: AuditLog, registry: Registry, dispatcher: Dispatcher,
                 pools: Pools, network: NetworkView, notices: NoticeHub, presence: Presence, quotas: Quotas,
                 ledger: Ledger, changes: Changes) -> None:
        self.accounts, self.audit, self.registry, self.dispatcher, self.pools, self.network = (
            accounts, audit, registry, dispatcher, pools, network)
        self.notices, self.presence, self.quotas, self.ledger, self.changes = notices, presence, quotas, ledger, changes

    async def _audit(self, caller: Caller, action: str, target: str = "", detail: str = "") -> None:
        await self.audit.record(caller.user, action, target, detail)

    def _user_info(self, user: User) -> admin_pb2.UserInfo:
        info = admin_pb2.UserInfo(name=user.name, role=_ROLE_PROTO[user.role], banned=user.banned_at is not None,
                                  ban_reason=user.ban_reason,
                                  live_tokens=sum(1 for t in self.accounts.tokens(user.name) if t.alive()))
        stamp(info.created_at, user.created_at)
        return info

    # ----------------------------------------------------------- workers --

    @sysop_call
    async def ListWorkers(self, request: admin_pb2.ListWorkersRequest,
                          caller: Caller) -> admin_pb2.ListWorkersResponse:
        return admin_pb2.ListWorkersResponse(workers=[_worker_info(w) for w in self.registry.workers()])

    @sysop_call
    async def ListNetwork(self, request: admin_pb2.ListNetworkRequest,
                          caller: Caller) -> admin_pb2.ListNetworkResponse:
        return await self.network.listing(self.registry.workers())

    @sysop_call
    async def RemoveWorker(self, request: admin_pb2.WorkerRequest, caller: Caller) -> admin_pb2.WorkerInfo:
        worker = self.registry.remove(_name(request.name))
        await self._audit(caller, "RemoveWorker", worker.name)
        return _worker_info(worker)

    @sysop_call
    async def DrainWorker(self, request: admin_pb2.WorkerRequest, caller: Caller) -> admin_pb2.WorkerInfo:
        worker = self.registry.drain(_name(request.name))
        await self._audit(caller, "DrainWorker", worker.name)
        return _worker_info(worker)

    @sysop_call
    async def BlacklistWorker(self, request: admin_pb2.WorkerRequest, caller: Caller) -> admin_pb2.WorkerInfo:
        worker = self.registry.blacklist(_name(request.name))
        await self._audit(caller, "BlacklistWorker", worker.name)
        return _worker_info(worker)

    @sysop_call
    async def ReadmitWorker(self, request: admin_pb2.WorkerRequest,
                            caller: Caller) -> admin_pb2.ReadmitWorkerResponse:
        name = _name(request.name)
        worker = self.registry.readmit(name)
        await self._audit(caller, "ReadmitWorker", name)
        return admin_pb2.ReadmitWorkerResponse(worker=_worker_info(worker) if worker is not None else None)

    # ------------------------------------------------------------- pools --

    @sysop_call
    async def ListPools(self, request: admin_pb2.ListPoolsRequest, caller: Caller) -> admin_pb2.ListPoolsResponse:
        return admin_pb2.ListPoolsResponse(pools=self.pools.all())

    @sysop_call
    async def SetPool(self, request: admin_pb2.Pool, caller: Caller) -> admin_pb2.Pool:
        pool = await self.pools.set(request)
        self.dispatcher.dispatch()  # intents may wait for it
        await self._audit(caller, "SetPool", "$" + pool.name,
                          f"{name_of(pool.kind)}: {', '.join(pool.workers)}; "
                          f"{admin_pb2.PoolStrategy.Name(pool.strategy)}")
        return pool

    @sysop_call
    async def DeletePool(self, request: admin_pb2.DeletePoolRequest,
                         caller: Caller) -> admin_pb2.DeletePoolResponse:
        name = _name(request.name)
        await self.pools.delete(name)
        alias = "$" + name.removeprefix("$")
        failed = self.dispatcher.fail_waiting_for(alias, intent_error(grpc.StatusCode.NOT_FOUND,
                                                                      f"pool {alias} was deleted"))
        await self._audit(caller, "DeletePool", "$" + name.removeprefix("$"), f"{failed} waiting intents failed")
        return admin_pb2.DeletePoolResponse()

    # ------------------------------------------------------------- queue --

    @sysop_call
    async def ListQueue(self, request: admin_pb2.ListQueueRequest, caller: Caller) -> admin_pb2.ListQueueResponse:
        return admin_pb2.ListQueueResponse(entries=[admin_pb2.QueueEntry(intent=info_from_live(i), user=i.user)
                                                    for i in self.dispatcher.live_intents()])

    @sysop_call
    async def CancelIntent(self, request: admin_pb2.CancelIntentRequest,
                           caller: Caller) -> admin_pb2.CancelIntentResponse:
        intent_id = _name(request.intent_id, "intent_id")
        state = await self.dispatcher.cancel_by(intent_id, caller, request.reason.strip() or "cancelled by the sysop")
        await self._audit(caller, "CancelIntent", intent_id, request.reason.strip())
        return admin_pb2.CancelIntentResponse(state=state)

    @sysop_call
    async def ClearQueue(self, request: admin_pb2.ClearQueueRequest, caller: Caller) -> admin_pb2.ClearQueueResponse:
        kind = None
        if request.kind != intent_pb2.KIND_UNSPECIFIED:
            kind = name_of(request.kind)
            if kind not in WORKER_KINDS:
                raise invalid(f"kind {request.kind} has no queue")
        cancelled = self.dispatcher.clear_queue(kind, "cancelled: the sysop cleared the queue")
        await self._audit(caller, "ClearQueue", kind or "", f"{cancelled} intents cancelled")
        return admin_pb2.ClearQueueResponse(cancelled=cancelled)

    # ------------------------------------------------------------- users --

    @sysop_call
    async def ListUsers(self, request: admin_pb2.ListUsersRequest, caller: Caller) -> admin_pb2.ListUsersResponse:
        return admin_pb2.ListUsersResponse(users=[self._user_info(u) for u in self.accounts.users()])

    @sysop_call
    async def CreateUser(self, request: admin_pb2.CreateUserRequest, caller: Caller) -> admin_pb2.UserInfo:
        user = await self.accounts.create_user(_name(request.name), _role(request.role, USER))
        await self._audit(caller, "CreateUser", user.name, f"role {user.role}")
        return self._user_info(user)

    @sysop_call
    async def SetRole(self, request: admin_pb2.SetRoleRequest, caller: Caller) -> admin_pb2.UserInfo:
        user = await self.accounts.set_role(_name(request.name), _role(request.role))
        await self._audit(caller, "SetRole", user.name, f"role {user.role}")
        return self._user_info(user)

    @sysop_call
    async def BanUser(self, request: admin_pb2.BanUserRequest, caller: Caller) -> admin_pb2.UserInfo:
        name = _name(request.name)
        if name == caller.user:
            raise invalid("a sysop cannot ban themselves")
        user = await self.accounts.ban(name, request.reason.strip())
        cancelled = self.dispatcher.cancel_user(name, "cancelled: the user was banned"
                                           + (f" ({user.ban_reason})" if user.ban_reason else ""))
        await self._audit(caller, "BanUser", name, f"{request.reason.strip()}; {cancelled} intents cancelled")
        return self._user_info(user)

    @sysop_call
    async def UnbanUser(self, request: admin_pb2.UnbanUserRequest, caller: Caller) -> admin_pb2.UserInfo:
        user = await self.accounts.unban(_name(request.name))
        await self._audit(caller, "UnbanUser", user.name)
        return self._user_info(user)

    @sysop_call
    async def TerminateUser(self, request: admin_pb2.TerminateUserRequest,
                            caller: Caller) -> admin_pb2.TerminateUserResponse:
        name = _name(request.name)
        cancelled = self.dispatcher.cancel_user(name, "cancelled by the sysop")
        await self._audit(caller, "TerminateUser", name, f"{cancelled} intents cancelled")
        return admin_pb2.TerminateUserResponse(cancelled=cancelled)

    # ------------------------------------------------------------ tokens --

    @sysop_call
    async def CreateToken(self, request: admin_pb2.CreateTokenRequest,
                          caller: Caller) -> admin_pb2.CreateTokenResponse:
        if request.purpose == admin_pb2.TOKEN_PURPOSE_JOIN:
            if request.user:
                raise invalid("user must be empty for a join token")
            secret, token = await self.accounts.issue_join_token(label=request.label, ttl_s=request.ttl_s)
        elif request.purpose in (admin_pb2.TOKEN_PURPOSE_USER, admin_pb2.TOKEN_PURPOSE_UNSPECIFIED):
            secret, token = await self.accounts.issue_token(_name(request.user, "user"), label=request.label,
                                                            ttl_s=request.ttl_s)
        elif request.purpose == admin_pb2.TOKEN_PURPOSE_PEER:
            raise invalid("a peer token is made with Peers.AddPeer (mtor admin peer add)")
        else:
            raise invalid(f"purpose {request.purpose} is not a TokenPurpose")
        await self._audit(caller, "CreateToken", token.prefix,
                          f"{token.purpose} token" + (f" for {token.user}" if token.user else ""))
        return admin_pb2.CreateTokenResponse(token=secret, info=_token_info(token))

    @sysop_call
    async def ListTokens(self, request: admin_pb2.ListTokensRequest, caller: Caller) -> admin_pb2.ListTokensResponse:
        tokens = self.accounts.tokens(request.user or None)
        return admin_pb2.ListTokensResponse(tokens=[_token_info(t) for t in tokens
                                                    if request.include_dead or t.alive()])

    @sysop_call
    async def RevokeToken(self, request: admin_pb2.RevokeTokenRequest, caller: Caller) -> admin_pb2.TokenInfo:
        token = await self.accounts.revoke(_name(request.prefix, "prefix"))
        await self._audit(caller, "RevokeToken", token.prefix, token.user)
        return _token_info(token)

    # ------------------------------------------------------ quotas, usage --

    @sysop_call
    async def SetQuota(self, request: admin_pb2.SetQuotaRequest, caller: Caller) -> account_pb2.QuotaStatus:
        user = _name(request.user, "user")
        self.accounts.user(user)
        rpm = request.requests_per_minute if request.HasField("requests_per_minute") else None
        budget = request.budget if request.HasField("budget") else None
        status = await self.quotas.set(user, rpm, budget)
        await self._audit(caller, "SetQuota", user, f"requests_per_minute {'default' if rpm is None else rpm}, "
                          f"budget {'default' if budget is None else budget}")
        return quota_status(status)

    @sysop_call
    async def Stats(self, request: admin_pb2.StatsRequest, caller: Caller) -> admin_pb2.StatsResponse:
        users = [request.user] if request.user else await self.ledger.users()
        return admin_pb2.StatsResponse(
            realm=await usage_report(self.ledger, self.quotas, None),
            users=[await usage_report(self.ledger, self.quotas, u) for u in users],
            users_connected=self.presence.now, most_users_connected=self.presence.most)

    # ----------------------------------------------------------- notices --

    @sysop_call
    async def Broadcast(self, request: admin_pb2.BroadcastRequest, caller: Caller) -> admin_pb2.BroadcastResponse:
        text = _name(request.text, "text")
        recipients = self.notices.publish(text)
        await self._audit(caller, "Broadcast", "", text)
        return admin_pb2.BroadcastResponse(recipients=recipients)

    # ------------------------------------------------------------ watch --

    @sysop_stream
    async def WatchRealm(self, request: admin_pb2.WatchRealmRequest,
                         caller: Caller) -> AsyncIterator[admin_pb2.RealmEvent]:
        interval = request.min_interval_s if request.min_interval_s > 0 else 0.2
        changed = self.changes.watch()
        notices = self.notices.subscribe(caller)
        try:
            with self.presence.connected(caller.user):
                async for event in self._watch(interval, changed, notices):
                    yield event
        finally:
            self.changes.unwatch(changed)
            self.notices.unsubscribe(notices)

    async def _watch(self, interval: float, changed: asyncio.Event,
                     notices: asyncio.Queue[intents_pb2.Notice]) -> AsyncIterator[admin_pb2.RealmEvent]:
        while True:
            changed.clear()
            yield admin_pb2.RealmEvent(snapshot=self._snapshot())
            await asyncio.sleep(interval)
            waiting = {asyncio.ensure_future(changed.wait()), asyncio.ensure_future(notices.get())}
            try:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when the call ends meanwhile: a task left pending is destroyed pending (an ERROR line)
                for task in waiting:
                    task.cancel()
            for task in done:
                if isinstance(notice := task.result(), intents_pb2.Notice):
                    yield admin_pb2.RealmEvent(notice=notice)
            while not notices.empty():
                yield admin_pb2.RealmEvent(notice=notices.get_nowait())

    def _snapshot(self) -> admin_pb2.RealmSnapshot:
        snapshot = admin_pb2.RealmSnapshot(workers=[_worker_info(w) for w in self.registry.workers()],
                                           users_connected=self.presence.now)
        for kind, queued, running in self.dispatcher.queue_loads():
            snapshot.kinds.add(kind=to_proto(kind), queued=queued, running=running)
        snapshot.time.FromNanoseconds(time.time_ns())
        return snapshot

    # ------------------------------------------------------------- audit --

    @sysop_call
    async def ListAudit(self, request: admin_pb2.ListAuditRequest, caller: Caller) -> admin_pb2.ListAuditResponse:
        response = admin_pb2.ListAuditResponse()
        for entry in await self.audit.latest(request.limit or 100):
            out = response.entries.add(actor=entry.actor, action=entry.action, target=entry.target,
                                       detail=entry.detail)
            stamp(out.time, entry.time)
        return response


def _worker_info(worker: ConnectedWorker) -> admin_pb2.WorkerInfo:
    info = admin_pb2.WorkerInfo(
        name=worker.name, id=worker.id, health=worker.health.score, blacklisted=worker.health.blacklisted,
        blacklisted_by_sysop=worker.health.by_hand, draining=worker.drained,
        running=len(worker.running), max_concurrency=worker.max_concurrency, devices=worker.devices,
        version=worker.version, heartbeat_age_s=max(0.0, time.monotonic() - worker.last_heartbeat))
    for kind, models in sorted(worker.capabilities.items()):
        info.capabilities.add(kind=to_proto(kind), models=sorted(models))
    stamp(info.connected_at, worker.connected_at)
    return info


_PURPOSES = {JOIN_TOKEN: admin_pb2.TOKEN_PURPOSE_JOIN, PEER_TOKEN: admin_pb2.TOKEN_PURPOSE_PEER}


def _token_info(token: Token) -> admin_pb2.TokenInfo:
    info = admin_pb2.TokenInfo(prefix=token.prefix, user=token.user, label=token.label,
                               purpose=_PURPOSES.get(token.purpose, admin_pb2.TOKEN_PURPOSE_USER))
    stamp(info.created_at, token.created_at)
    stamp(info.expires_at, token.expires_at)
    stamp(info.revoked_at, token.revoked_at)
    return info
