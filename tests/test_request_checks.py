"""Requests the realm cannot use are refused with INVALID_ARGUMENT naming what is wrong, before they can break
anything: numbers no field can hold (NaN, infinities, an expiry past year 9999, a negative budget) and bytes
that do not decode. A value an older realm stored out of range does not break a listing; health's List, which
grpc's library leaves unimplemented, answers. On a real realm."""
from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timezone

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import SYSOP_TOKEN
from mtor_client import Client, InvalidArgument
from mtor_client._proto.mtor.v1 import admin_pb2
from test_cli_admin import ok
from test_metrics import metrics_url, scrape

from mtor_server.auth.accounts import MAX_TTL_S
from mtor_server.server import SERVICES

TTLS_NO_EXPIRY_HOLDS = (math.inf, -math.inf, math.nan, 1e300, 1e12, -1.0)
SYSOP = (("authorization", f"Bearer {SYSOP_TOKEN}"),)


def test_a_ttl_no_expiry_can_hold_is_refused_and_tokens_still_list(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        admin.create_user("alice")
        for ttl in TTLS_NO_EXPIRY_HOLDS:
            for create in (lambda: admin.create_token("alice", ttl_s=ttl), lambda: admin.create_join_token(ttl_s=ttl)):
                with pytest.raises(InvalidArgument, match="ttl_s") as refused:
                    create()
                assert str(ttl) in refused.value.message or f"{ttl:g}" in refused.value.message
        assert admin.tokens("alice") == []  # nothing was stored
        longest = admin.create_token("alice", ttl_s=MAX_TTL_S)
        assert longest.info.expires_at is not None and longest.info.expires_at.year > 2100
        assert [t.prefix for t in admin.tokens("alice")] == [longest.info.prefix]
    assert "alice" in ok(realm, "tokens", "--all")


def test_a_budget_that_is_no_number_is_refused(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        admin.create_user("alice")
        for budget in (math.nan, math.inf, -math.inf, -1.0):
            with pytest.raises(InvalidArgument, match="budget"):
                admin.set_quota("alice", budget=budget)
            with pytest.raises(InvalidArgument, match="budget"):
                admin.add_peer("east", budget=budget)
        assert admin.set_quota("alice", budget=5.0).budget == 5.0
        assert [p.name for p in admin.peers()] == []
        [alice] = admin.stats(user="alice").users
        assert alice.quota.budget == 5.0


def test_a_token_stored_with_an_infinite_expiry_lists_after_a_restart(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        admin.create_user("alice")
        token = admin.create_token("alice").token
    assert realm.proc.terminate() == 0
    with sqlite3.connect(realm.data_dir / "mtor.db") as db:  # what a realm that took ttl_s=inf wrote
        assert db.execute("UPDATE tokens SET expires_at = ? WHERE user = 'alice'", (math.inf,)).rowcount == 1
    db.close()
    again = cluster.restart(realm)
    with again.admin() as admin:
        [listed] = admin.tokens("alice")
        assert listed.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)  # clamped
    assert "9999-12-31" in ok(again, "tokens", "--user", "alice")
    with Client(again.address, token=token) as client:
        assert client.whoami() == "alice"  # it never expires, as stored


def test_bytes_that_do_not_decode_are_refused_naming_the_type_and_logged_once(cluster):
    realm = cluster.realm()
    url = metrics_url(realm)
    with grpc.insecure_channel(realm.address) as channel:
        create_token = channel.unary_unary("/mtor.v1.Admin/CreateToken")  # bytes as they are
        for _ in range(50):
            with pytest.raises(grpc.RpcError) as refused:
                create_token(b"\xff\xff\xff", timeout=5, metadata=SYSOP)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert refused.value.details().startswith("the request does not decode as mtor.v1.CreateTokenRequest")
        with pytest.raises(grpc.RpcError) as refused:
            create_token(admin_pb2.CreateTokenRequest(user="x", ttl_s=math.nan).SerializeToString(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == "ttl_s is nan; give a finite number"  # before any token check
        connect = channel.stream_stream("/mtor.v1.WorkerLink/Connect")
        with pytest.raises(grpc.RpcError) as refused:
            list(connect(iter([b"\x0a\xff"]), timeout=5))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "does not decode as mtor.v1.WorkerMessage" in refused.value.details()
    counted = scrape(url)
    assert counted.value("mtor_rpc_refused_total", method="/mtor.v1.Admin/CreateToken", reason="undecodable") == 50
    assert counted.value("mtor_rpc_refused_total", method="/mtor.v1.Admin/CreateToken", reason="number") == 1
    log = realm.proc.output()
    assert "Traceback" not in log and log.count("did not decode") == 2  # one line per method a minute
    assert realm.describe().name  # and it serves on


def test_health_lists_every_service_as_serving(cluster):
    realm = cluster.realm()
    with grpc.insecure_channel(realm.address) as channel:
        listed = health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest(), timeout=5)
    assert set(listed.statuses) == {"", *SERVICES}
    assert {s.status for s in listed.statuses.values()} == {health_pb2.HealthCheckResponse.SERVING}
