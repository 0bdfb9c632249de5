"""mtor.v1.Peers: the sysop's side of the federation."""
from __future__ import annotations

import grpc
from mtor_client._proto.mtor.v1 import peers_pb2, peers_pb2_grpc
from mtor_client.channels import split_target
from mtor_client.kinds import WORKER_KINDS, name_of, to_proto

from mtor_common.address import split_address
from mtor_server.accounting import Quotas
from mtor_server.admin import AuditLog
from mtor_server.auth import Accounts, Caller
from mtor_server.errors import invalid
from mtor_server.records import stamp
from mtor_server.scheduler.route import peer_user
from mtor_server.services._status import unary

from .book import Peer
from .hub import Federation
from .link import LinkState
from .usage import Totals

_STATES = {LinkState.CONNECTING: peers_pb2.PEER_STATE_CONNECTING, LinkState.UP: peers_pb2.PEER_STATE_UP,
           LinkState.DOWN: peers_pb2.PEER_STATE_DOWN, LinkState.REFUSED: peers_pb2.PEER_STATE_REFUSED}


class PeersService(peers_pb2_grpc.PeersServicer):
    def __init__(self, federation: Federation, accounts: Accounts, quotas: Quotas, audit: AuditLog) -> None:
        self.federation, self.accounts, self.quotas, self.audit = federation, accounts, quotas, audit

    def _sysop(self, context: grpc.aio.ServicerContext) -> Caller:
        return self.accounts.sysop(context.invocation_metadata())

    def _info(self, peer: Peer) -> peers_pb2.PeerInfo:
        limits = self.quotas.limits(peer_user(peer.name))
        info = peers_pb2.PeerInfo(name=peer.name, address=peer.address, realm_id=peer.realm_id,
                                  kinds=[to_proto(k) for k in sorted(peer.kinds)],
                                  requests_per_minute=limits.requests_per_minute, budget=limits.budget,
                                  state=peers_pb2.PEER_STATE_INBOUND_ONLY)
        link = self.federation.links.get(peer.name)
        if link is not None:
            info.state, info.detail, info.rtt_ms = _STATES[link.state], link.detail, link.rtt_ms
            if link.worker is not None:
                info.capacity.CopyFrom(link.worker.report)
                stamp(info.reported_at, link.worker.reported_at)
                info.running = len(link.worker.running)
        return info

    @unary
    async def AddPeer(self, request: peers_pb2.AddPeerRequest,
                      context: grpc.aio.ServicerContext) -> peers_pb2.AddPeerResponse:
        caller = self._sysop(context)
        kinds = set()
        for number in request.kinds:
            kind = name_of(number)
            if kind not in WORKER_KINDS:
                raise invalid(f"kinds: {number} is not a kind a peer can forward (one of {', '.join(WORKER_KINDS)})")
            kinds.add(kind)
        if request.budget < 0:
            raise invalid("budget must not be negative")
        if request.address.strip():
            try:  # HOST:PORT, or grpcs://HOST:PORT for TLS
                split_address(split_target(request.address.strip())[0])
            except ValueError as e:
                raise invalid(f"address: {e}; give HOST:PORT, or grpcs://HOST:PORT for TLS") from None
        peer, new = await self.federation.book.put(request.name.strip(), request.address.strip(),
                                                   request.token.strip(), frozenset(kinds))
        token = (await self.accounts.issue_peer_token(peer.name))[0] if new else ""
        if new or request.requests_per_minute or request.budget:
            limits = self.quotas.limits(peer_user(peer.name))
            await self.quotas.set(peer_user(peer.name), request.requests_per_minute or
                                        (0 if new else limits.requests_per_minute),
                                        request.budget or (0.0 if new else limits.budget))
        await self.audit.record(caller.user, "AddPeer", peer.name,
                                      f"address {peer.address or '(none)'}; kinds {','.join(sorted(kinds)) or 'all'}")
        await self.federation.relink(peer)
        return peers_pb2.AddPeerResponse(peer=self._info(peer), token=token)

    @unary
    async def ListPeers(self, request: peers_pb2.ListPeersRequest,
                        context: grpc.aio.ServicerContext) -> peers_pb2.ListPeersResponse:
        self._sysop(context)
        return peers_pb2.ListPeersResponse(peers=[self._info(p) for p in self.federation.book.all()])

    @unary
    async def RemovePeer(self, request: peers_pb2.RemovePeerRequest,
                         context: grpc.aio.ServicerContext) -> peers_pb2.RemovePeerResponse:
        caller = self._sysop(context)
        peer = await self.federation.book.remove(request.name.strip())
        await self.accounts.revoke_peer_tokens(peer.name)
        await self.federation.unlink(peer.name)
        await self.audit.record(caller.user, "RemovePeer", peer.name)
        return peers_pb2.RemovePeerResponse()

    @unary
    async def FederationUsage(self, request: peers_pb2.FederationUsageRequest,
                              context: grpc.aio.ServicerContext) -> peers_pb2.FederationUsageResponse:
        self._sysop(context)
        since = request.since.ToNanoseconds() / 1e9 if request.HasField("since") else 0.0
        response = peers_pb2.FederationUsageResponse()
        for usage in await self.federation.usage.usage(since):
            response.peers.add(peer=usage.peer, served_for_them=_totals(usage.served_for_them),
                               served_for_us=_totals(usage.served_for_us))
        return response


def _totals(totals: Totals) -> peers_pb2.FederationTotals:
    return peers_pb2.FederationTotals(intents=totals.intents, succeeded=totals.succeeded,
                                      processing_s=totals.processing_s, cost=totals.cost)
