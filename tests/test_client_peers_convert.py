"""The sysop client's side of mtor.v1.Peers without a realm: PeerInfo, AddPeer's and FederationUsage's messages
to typed values. tests/test_federation.py runs the client and `mtor admin peer` against real realms."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mtor_client import admin as adm
from mtor_client._proto.mtor.v1 import federation_pb2, intent_pb2, peers_pb2
from mtor_client.admin import FederationTotals, PeerInfo, PeerKind, PeerUsage

T0 = datetime(2025, 3, 4, 5, 6, 7, 123000, tzinfo=timezone.utc)


def peer_message(**fields: Any) -> peers_pb2.PeerInfo:
    msg = peers_pb2.PeerInfo(
        name="north", address="10.0.0.2:7070", realm_id="r-north", kinds=[intent_pb2.KIND_CHAT, intent_pb2.KIND_SPEAK],
        requests_per_minute=60, budget=2.5, state=peers_pb2.PEER_STATE_UP, detail="", rtt_ms=1.25, running=3,
        capacity=federation_pb2.Capacity(healthy=True, interval_s=2.0, kinds=[
            federation_pb2.PeerKindCapacity(kind=intent_pb2.KIND_CHAT, models=["llama", "qwen"], free_slots=2,
                                            queue_depth=1, hops=0, cost_base=0.01, cost_per_second=0.002),
            federation_pb2.PeerKindCapacity(kind=intent_pb2.KIND_SPEAK, free_slots=0, queue_depth=4, hops=1)]))
    msg.reported_at.FromDatetime(T0)
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


NORTH = PeerInfo(
    name="north", address="10.0.0.2:7070", realm_id="r-north", kinds=("chat", "speak"), requests_per_minute=60,
    budget=2.5, state="up", detail="", rtt_ms=1.25,
    capacity=(PeerKind("chat", ("llama", "qwen"), 2, 1, 0, 0.01, 0.002), PeerKind("speak", (), 0, 4, 1, 0.0, 0.0)),
    healthy=True, reported_at=T0, running=3)


# ------------------------------------------------------------- conversions --


def test_a_peer_with_every_field():
    assert adm._peer(peer_message()) == NORTH


def test_an_empty_peer_has_no_capacity_no_report_time_and_an_unknown_state():
    assert adm._peer(peers_pb2.PeerInfo(name="south")) == PeerInfo(
        name="south", address="", realm_id="", kinds=(), requests_per_minute=0, budget=0.0, state="unknown",
        detail="", rtt_ms=0.0, capacity=(), healthy=False, reported_at=None, running=0)


def test_every_peer_state_has_its_name():
    names = {number: adm._peer(peers_pb2.PeerInfo(state=number)).state
             for number in peers_pb2.PeerState.values()}
    assert names == {peers_pb2.PEER_STATE_UNSPECIFIED: "unknown", peers_pb2.PEER_STATE_INBOUND_ONLY: "inbound-only",
                     peers_pb2.PEER_STATE_CONNECTING: "connecting", peers_pb2.PEER_STATE_UP: "up",
                     peers_pb2.PEER_STATE_DOWN: "down", peers_pb2.PEER_STATE_REFUSED: "refused"}
    assert adm._peer(peers_pb2.PeerInfo(state=99)).state == "unknown"  # from a newer realm


def test_unknown_kinds_become_empty_names():
    msg = peers_pb2.PeerInfo(kinds=[intent_pb2.KIND_CHAT, 99], capacity=federation_pb2.Capacity(
        kinds=[federation_pb2.PeerKindCapacity(kind=99, free_slots=1)]))
    peer = adm._peer(msg)
    assert peer.kinds == ("chat", "") and peer.capacity[0].kind == ""


def test_usage_both_ways():
    msg = peers_pb2.PeerUsage(
        peer="north", served_for_them=peers_pb2.FederationTotals(intents=5, succeeded=4, processing_s=12.5, cost=0.75),
        served_for_us=peers_pb2.FederationTotals(intents=2, succeeded=2, processing_s=1.5, cost=0.1))
    assert adm._peer_usage(msg) == PeerUsage("north", FederationTotals(5, 4, 12.5, 0.75),
                                             FederationTotals(2, 2, 1.5, 0.1))
    assert adm._peer_usage(peers_pb2.PeerUsage(peer="x")) == PeerUsage("x", FederationTotals(0, 0, 0.0, 0.0),
                                                                       FederationTotals(0, 0, 0.0, 0.0))
