"""The sysop's client for mtor.v1.Admin and mtor.v1.Peers: workers, queue,
users, tokens, quotas, usage, notices, audit; peer realms and the usage
between this realm and them.

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
from typing import Any, Callable, Iterable, Iterator, TypeVar

import grpc

from mtor_client._channel import TLS, resolve, sync_channel
from mtor_client._convert import _set_time, info_from_proto, kind_name, notice_from_proto, state_name, time_from_proto
from mtor_client._proto.mtor.v1 import admin_pb2, admin_pb2_grpc, federation_pb2, peers_pb2, peers_pb2_grpc
from mtor_client.account import QuotaStatus, UsageReport, quota_from_proto, usage_from_proto
from mtor_client.errors import InvalidArgument, error_from_rpc
from mtor_client.kinds import to_proto
from mtor_client.types import IntentInfo, Notice

_T = TypeVar("_T")
ROLES = {"user": admin_pb2.ROLE_USER, "sysop": admin_pb2.ROLE_SYSOP}
PURPOSES = {admin_pb2.TOKEN_PURPOSE_USER: "user", admin_pb2.TOKEN_PURPOSE_JOIN: "join",
            admin_pb2.TOKEN_PURPOSE_PEER: "peer"}


@dataclass(frozen=True)
class Device:
    type: str  # "cpu" or "cuda"
    name: str
    vram_total_bytes: int
    vram_free_bytes: int


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    id: str
    health: int  # 0..100
    blacklisted: bool
    blacklisted_by_sysop: bool
    draining: bool
    running: int
    max_concurrency: int
    capabilities: dict[str, tuple[str, ...]]  # kind -> models; () means any model
    devices: tuple[Device, ...]
    version: str
    connected_at: datetime | None
    heartbeat_age_s: float


@dataclass(frozen=True)
class Specialisation:
    topic: str
    keywords: tuple[str, ...]  # whole words, any case
    workers: tuple[str, ...]  # members preferred for prompts with one of the keywords


@dataclass(frozen=True)
class Pool:
    name: str  # callers ask for the model "$name"
    kind: str
    workers: tuple[str, ...]
    strategy: str = "auto"  # health, round_robin, least_busy, random or auto
    specialisations: tuple[Specialisation, ...] = ()


@dataclass(frozen=True)
class QueueEntry:
    intent: IntentInfo
    user: str


@dataclass(frozen=True)
class KindLoad:
    kind: str
    queued: int
    running: int


@dataclass(frozen=True)
class RealmSnapshot:
    time: datetime | None
    workers: tuple[WorkerInfo, ...]
    kinds: tuple[KindLoad, ...]
    users_connected: int


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
class Stats:
    realm: UsageReport
    users: tuple[UsageReport, ...]
    users_connected: int  # distinct users with a call open now
    most_users_connected: int  # ever, at once

    def user(self, name: str) -> UsageReport | None:
        return next((u for u in self.users if u.user == name), None)


@dataclass(frozen=True)
class AuditEntry:
    time: datetime | None
    actor: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class NetworkWorker:
    """A worker the realm knows of on the network."""

    name: str
    state: str  # "discovered" (announced, not joined here), "joined" or "refused"
    reason: str  # why it was refused; "" otherwise
    address: str
    kinds: tuple[str, ...]
    models: tuple[str, ...]
    device: str
    vram_total_bytes: int
    version: str
    protocol: int
    serves_realm: str  # the realm its announcement names; "" when none
    announced: bool
    since: datetime | None  # announcement first heard, connection, or latest refused attempt
    refusals: int


@dataclass(frozen=True)
class NetworkRealm:
    """Another realm seen on the network."""

    id: str
    name: str
    address: str
    protocol: int
    kinds: tuple[str, ...]
    tls: bool
    join_token_required: bool
    found_by: str  # "multicast" or "seed"


@dataclass(frozen=True)
class Network:
    """What a realm sees around it (from `network`)."""

    workers: tuple[NetworkWorker, ...]
    realms: tuple[NetworkRealm, ...]
    watching: bool  # whether it listens for announcements at all
    seed_errors: tuple[str, ...]


WORKER_STATES = {admin_pb2.NETWORK_WORKER_STATE_DISCOVERED: "discovered",
                 admin_pb2.NETWORK_WORKER_STATE_JOINED: "joined", admin_pb2.NETWORK_WORKER_STATE_REFUSED: "refused"}
FOUND_BY = {admin_pb2.FOUND_BY_MULTICAST: "multicast", admin_pb2.FOUND_BY_SEED: "seed"}


def _network(msg: admin_pb2.ListNetworkResponse) -> Network:
    workers = tuple(NetworkWorker(
        w.name, WORKER_STATES.get(w.state, "unknown"), w.reason, w.address, tuple(kind_name(k) for k in w.kinds),
        tuple(w.models), w.device, w.vram_total_bytes, w.version, w.protocol, w.serves_realm, w.announced,
        time_from_proto(w.since), w.refusals) for w in msg.workers)
    realms = tuple(NetworkRealm(
        r.id, r.name, r.address, r.protocol, tuple(kind_name(k) for k in r.kinds), r.tls, r.join_token_required,
        FOUND_BY.get(r.found_by, "unknown")) for r in msg.realms)
    return Network(workers, realms, msg.watching, tuple(msg.seed_errors))


@dataclass(frozen=True)
class PeerKind:
    """What a peer realm reported it could serve of one kind for this realm."""

    kind: str
    models: tuple[str, ...]  # () when some worker there accepts any model
    free_slots: int  # assignments it could start now
    queue_depth: int  # intents of this kind waiting in its queue
    hops: int  # realm hops from it to the nearest worker of this kind (0: its own)
    cost_base: float  # its charge per intent, in its billing unit
    cost_per_second: float  # its charge per second of processing, in its billing unit


@dataclass(frozen=True)
class PeerInfo:
    """A peer realm as this realm knows it, and the state of the link to it."""

    name: str
    address: str  # where this realm calls it; "": where the local network shows it, or not at all
    realm_id: str  # "" before its first Hello
    kinds: tuple[str, ...]  # kinds accepted from it; () means every kind
    requests_per_minute: int  # accepted from it; 0: no limit
    budget: float  # cost served for it per budget period; 0: no limit
    state: str  # "inbound-only", "connecting", "up", "down" or "refused"
    detail: str  # why it is down or refused
    rtt_ms: float  # round trip of the last Hello
    capacity: tuple[PeerKind, ...]  # its last capacity report, per kind
    healthy: bool  # from that report: false while it shuts down
    reported_at: datetime | None  # when that report arrived
    running: int  # intents this realm has running at it now


@dataclass(frozen=True)
class NewPeer:
    peer: PeerInfo
    token: str  # the secret the peer presents when it calls this realm: shown this once; "" when it existed


@dataclass(frozen=True)
class FederationTotals:
    intents: int  # forwarded intents that finished, whatever their outcome
    succeeded: int
    processing_s: float
    cost: float  # what the serving realm charged, in its billing unit


@dataclass(frozen=True)
class PeerUsage:
    peer: str
    served_for_them: FederationTotals  # by this realm for the peer
    served_for_us: FederationTotals  # by the peer for this realm


PEER_STATES = {peers_pb2.PEER_STATE_INBOUND_ONLY: "inbound-only", peers_pb2.PEER_STATE_CONNECTING: "connecting",
               peers_pb2.PEER_STATE_UP: "up", peers_pb2.PEER_STATE_DOWN: "down",
               peers_pb2.PEER_STATE_REFUSED: "refused"}


def _peer_kind(msg: federation_pb2.PeerKindCapacity) -> PeerKind:
    return PeerKind(kind_name(msg.kind), tuple(msg.models), msg.free_slots, msg.queue_depth, msg.hops,
                    msg.cost_base, msg.cost_per_second)


def _peer(msg: peers_pb2.PeerInfo) -> PeerInfo:
    return PeerInfo(
        msg.name, msg.address, msg.realm_id, tuple(kind_name(k) for k in msg.kinds), msg.requests_per_minute,
        msg.budget, PEER_STATES.get(msg.state, "unknown"), msg.detail, msg.rtt_ms,
        tuple(_peer_kind(k) for k in msg.capacity.kinds), msg.capacity.healthy,
        time_from_proto(msg.reported_at) if msg.HasField("reported_at") else None, msg.running)


def _totals(msg: peers_pb2.FederationTotals) -> FederationTotals:
    return FederationTotals(msg.intents, msg.succeeded, msg.processing_s, msg.cost)


def _peer_usage(msg: peers_pb2.PeerUsage) -> PeerUsage:
    return PeerUsage(msg.peer, _totals(msg.served_for_them), _totals(msg.served_for_us))


def _role(name: str) -> int:
    if name not in ROLES:
        raise InvalidArgument(f"role {name!r}: use one of {', '.join(ROLES)}")
    return ROLES[name]


def _worker(msg: admin_pb2.WorkerInfo) -> WorkerInfo:
    return WorkerInfo(
        msg.name, msg.id, msg.health, msg.blacklisted, msg.blacklisted_by_sysop, msg.draining, msg.running,
        msg.max_concurrency, {kind_name(c.kind): tuple(c.models) for c in msg.capabilities},
        tuple(Device(d.type, d.name, d.vram_total_bytes, d.vram_free_bytes) for d in msg.devices), msg.version,
        time_from_proto(msg.connected_at), msg.heartbeat_age_s)


STRATEGIES = {"health": admin_pb2.POOL_STRATEGY_HEALTH, "round_robin": admin_pb2.POOL_STRATEGY_ROUND_ROBIN,
              "least_busy": admin_pb2.POOL_STRATEGY_LEAST_BUSY, "random": admin_pb2.POOL_STRATEGY_RANDOM,
              "auto": admin_pb2.POOL_STRATEGY_AUTO}


def _pool(msg: admin_pb2.Pool) -> Pool:
    strategy = next((k for k, v in STRATEGIES.items() if v == msg.strategy), "auto")
    return Pool(msg.name, kind_name(msg.kind), tuple(msg.workers), strategy,
                tuple(Specialisation(s.topic, tuple(s.keywords), tuple(s.workers)) for s in msg.specialisations))


def _pool_to_proto(pool: Pool) -> admin_pb2.Pool:
    if pool.strategy not in STRATEGIES:
        raise InvalidArgument(f"strategy {pool.strategy!r}: use one of {', '.join(STRATEGIES)}")
    try:
        kind = to_proto(pool.kind)
    except ValueError as e:
        raise InvalidArgument(str(e)) from None
    return admin_pb2.Pool(name=pool.name, kind=kind, workers=pool.workers, strategy=STRATEGIES[pool.strategy],
                          specialisations=[admin_pb2.Specialisation(topic=s.topic, keywords=s.keywords,
                                                                    workers=s.workers)
                                           for s in pool.specialisations])


def _snapshot(msg: admin_pb2.RealmSnapshot) -> RealmSnapshot:
    return RealmSnapshot(time_from_proto(msg.time), tuple(_worker(w) for w in msg.workers),
                         tuple(KindLoad(kind_name(k.kind), k.queued, k.running) for k in msg.kinds),
                         msg.users_connected)


def _user(msg: admin_pb2.UserInfo) -> UserInfo:
    role = next((k for k, v in ROLES.items() if v == msg.role), "")
    return UserInfo(msg.name, role, time_from_proto(msg.created_at), msg.banned, msg.ban_reason, msg.live_tokens)


def _token(msg: admin_pb2.TokenInfo) -> TokenInfo:
    def when(field: str) -> datetime | None:
        return time_from_proto(getattr(msg, field)) if msg.HasField(field) else None

    return TokenInfo(msg.prefix, PURPOSES.get(msg.purpose, ""), msg.user, msg.label,
                     when("created_at"), when("expires_at"), when("revoked_at"))


class AdminClient:
    """A sysop's connection to one realm (same target, token and tls rules as Client)."""

    def __init__(self, target: str | None = None, *, token: str | None = None, timeout: float | None = 30.0,
                 options: list[tuple[str, Any]] | None = None, tls: TLS | None = None) -> None:
        self._endpoint = resolve(target, token, options, tls)
        self._timeout = timeout
        self._channel = sync_channel(self._endpoint)
        self._stub = admin_pb2_grpc.AdminStub(self._channel)
        self._peers = peers_pb2_grpc.PeersStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _call(self, method: str, request: Any, convert: Callable[[Any], _T], *, stub: Any = None) -> _T:
        """`method` of the Admin service, or of `stub` (the Peers one)."""
        rpc = getattr(self._stub if stub is None else stub, method)
        try:
            response = rpc(request, timeout=self._timeout, metadata=self._endpoint.metadata)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from None
        return convert(response)

    # -- workers --

    def workers(self) -> list[WorkerInfo]:
        return self._call("ListWorkers", admin_pb2.ListWorkersRequest(), lambda r: [_worker(w) for w in r.workers])

    def network(self) -> Network:
        """Workers announced on the network (joined or not), refused ones with why, and other realms."""
        return self._call("ListNetwork", admin_pb2.ListNetworkRequest(), _network)

    def remove_worker(self, name: str) -> WorkerInfo:
        """Disconnect it (its work goes elsewhere) and refuse it until readmit_worker."""
        return self._call("RemoveWorker", admin_pb2.WorkerRequest(name=name), _worker)

    def drain_worker(self, name: str) -> WorkerInfo:
        """No new work for it; what it runs finishes."""
        return self._call("DrainWorker", admin_pb2.WorkerRequest(name=name), _worker)

    def blacklist_worker(self, name: str) -> WorkerInfo:
        return self._call("BlacklistWorker", admin_pb2.WorkerRequest(name=name), _worker)

    def readmit_worker(self, name: str) -> WorkerInfo | None:
        """Undo remove, drain or blacklist; None for a removed worker not connected yet."""
        return self._call("ReadmitWorker", admin_pb2.WorkerRequest(name=name),
                          lambda r: _worker(r.worker) if r.HasField("worker") else None)

    # -- pools --

    def pools(self) -> list[Pool]:
        return self._call("ListPools", admin_pb2.ListPoolsRequest(), lambda r: [_pool(p) for p in r.pools])

    def set_pool(self, pool: Pool) -> Pool:
        """Create or replace the alias `$pool.name`."""
        return self._call("SetPool", _pool_to_proto(pool), _pool)

    def delete_pool(self, name: str) -> None:
        self._call("DeletePool", admin_pb2.DeletePoolRequest(name=name), lambda r: None)

    # -- queue --

    def queue(self) -> list[QueueEntry]:
        """Running intents, then queued ones in the order they will start."""
        return self._call("ListQueue", admin_pb2.ListQueueRequest(), lambda r: [
            QueueEntry(info_from_proto(e.intent), e.user) for e in r.entries])

    def cancel_intent(self, intent_id: str, reason: str = "") -> str:
        """Cancel anyone's intent; its state afterwards."""
        return self._call("CancelIntent", admin_pb2.CancelIntentRequest(intent_id=intent_id, reason=reason),
                          lambda r: state_name(r.state))

    def clear_queue(self, kind: str = "") -> int:
        """Cancel every queued intent (of `kind`); how many."""
        try:
            request = admin_pb2.ClearQueueRequest(kind=to_proto(kind) if kind else 0)
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        return self._call("ClearQueue", request, lambda r: r.cancelled)

    def watch(self, *, min_interval_s: float = 0.2, timeout: float | None = None) -> Iterator[RealmSnapshot | Notice]:
        """Snapshots of the realm as it changes, and notices, until closed or `timeout`."""
        call = self._stub.WatchRealm(admin_pb2.WatchRealmRequest(min_interval_s=min_interval_s), timeout=timeout,
                                     metadata=self._endpoint.metadata)
        try:
            for event in call:
                if event.HasField("snapshot"):
                    yield _snapshot(event.snapshot)
                else:
                    yield notice_from_proto(event.notice)
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):  # closed, timeout
                raise error_from_rpc(e) from None
        finally:
            call.cancel()

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

    # -- quotas and usage --

    def set_quota(self, user: str, *, requests_per_minute: int | None = None,
                  budget: float | None = None) -> QuotaStatus:
        """Set a user's limits (0: none); a limit left None returns to the realm's default."""
        request = admin_pb2.SetQuotaRequest(user=user)
        if requests_per_minute is not None:
            request.requests_per_minute = requests_per_minute
        if budget is not None:
            request.budget = budget
        return self._call("SetQuota", request, quota_from_proto)

    def stats(self, user: str = "") -> Stats:
        """Usage of the whole realm and of each user (or of `user` only)."""
        return self._call("Stats", admin_pb2.StatsRequest(user=user), lambda r: Stats(
            usage_from_proto(r.realm), tuple(usage_from_proto(u) for u in r.users), r.users_connected,
            r.most_users_connected))

    # -- notices and audit --

    def broadcast(self, text: str) -> int:
        """Send a notice to every caller following notices; how many received it."""
        return self._call("Broadcast", admin_pb2.BroadcastRequest(text=text), lambda r: r.recipients)

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        return self._call("ListAudit", admin_pb2.ListAuditRequest(limit=limit), lambda r: [
            AuditEntry(time_from_proto(e.time), e.actor, e.action, e.target, e.detail) for e in r.entries])

    # -- peer realms --

    def add_peer(self, name: str, *, address: str = "", token: str = "", kinds: Iterable[str] = (),
                 requests_per_minute: int = 0, budget: float = 0.0) -> NewPeer:
        """Trust a peer realm, or change what is known of it (on a known peer, what is left empty or 0 keeps
        its value).

        `address` and `token`: where to call it and the token its sysop made for this realm (the token alone:
        call it where the local network shows it; neither: it only calls this realm); `kinds`,
        `requests_per_minute` and `budget` limit what this realm accepts from it (empty, 0: no limit). The
        token it must present here comes back once, when the peer is new."""
        try:
            request = peers_pb2.AddPeerRequest(name=name, address=address, token=token,
                                               kinds=[to_proto(k) for k in kinds],
                                               requests_per_minute=requests_per_minute, budget=budget)
        except ValueError as e:  # an unknown kind, a negative rate
            raise InvalidArgument(str(e)) from None
        return self._call("AddPeer", request, lambda r: NewPeer(_peer(r.peer), r.token), stub=self._peers)

    def peers(self) -> list[PeerInfo]:
        """Peer realms, sorted by name, with their links' state."""
        return self._call("ListPeers", peers_pb2.ListPeersRequest(), lambda r: [_peer(p) for p in r.peers],
                          stub=self._peers)

    def remove_peer(self, name: str) -> None:
        """Stop trusting a peer: its token is revoked, the link closed; what it runs for this realm goes elsewhere."""
        self._call("RemovePeer", peers_pb2.RemovePeerRequest(name=name), lambda r: None, stub=self._peers)

    def federation_usage(self, since: datetime | None = None) -> list[PeerUsage]:
        """Per peer with usage: what this realm served for it and it for this realm (intents finished at or
        after `since`, naive times being UTC; None: all)."""
        request = peers_pb2.FederationUsageRequest()
        _set_time(request.since, since)
        return self._call("FederationUsage", request, lambda r: [_peer_usage(u) for u in r.peers], stub=self._peers)
