"""Identity and access on a real realm: tokens, roles, bans, join tokens,
the first sysop, and the audit log of every Admin change."""
from __future__ import annotations

import asyncio
import re
import time
from typing import Iterator

import grpc
import pytest
from harness import JOIN_TOKEN, SYSOP_TOKEN, wait_until
from mtor_client import AsyncClient, Cancelled, Client, Event, Failed, PermissionDenied, Unauthenticated
from mtor_client._convert import chat_request
from mtor_client._proto.mtor.v1 import admin_pb2, admin_pb2_grpc
from mtor_client.admin import AdminClient


def _outcome(stream: Iterator[Event]) -> object:
    """A submitted intent's terminal event: its error, or its result."""
    last = list(stream)[-1]
    return last.error if isinstance(last, Failed) else last.result


def test_without_anonymous_access_every_call_needs_a_valid_token(cluster):
    realm = cluster.realm({"MTOR_AUTH_ANONYMOUS": "off"})
    cluster.worker(realm)
    with Client(realm.address) as nobody:
        for call in (lambda: nobody.chat("hi", timeout=5), lambda: nobody.get("x"), lambda: nobody.cancel("x"),
                     lambda: list(nobody.watch("x")), lambda: next(nobody.notices(timeout=5))):
            with pytest.raises(Unauthenticated) as e:
                call()
            assert "needs a token" in e.value.message
    with Client(realm.address, token=realm.new_user("alice")) as alice:
        assert alice.chat("hi", timeout=10).text == "echo: hi"


def test_a_bad_token_is_refused_even_where_anonymous_calls_are_allowed(cluster):
    realm = cluster.realm()  # loopback: anonymous allowed
    cluster.worker(realm)
    token = realm.new_user("alice")
    with Client(realm.address) as anonymous:
        assert anonymous.chat("hi", timeout=10).text == "echo: hi"
    with Client(realm.address, token="mtor_wrong") as wrong:
        for call in (lambda: wrong.chat("hi", timeout=5), wrong.usage, wrong.whoami):
            with pytest.raises(Unauthenticated) as e:
                call()
            assert "unknown token" in e.value.message
    with realm.admin() as admin:
        short = admin.create_token("alice", ttl_s=1.0).token
        with Client(realm.address, token=short) as client:
            assert client.chat("still valid", timeout=10).text
            time.sleep(1.1)
            with pytest.raises(Unauthenticated) as e:
                client.chat("too late", timeout=5)
            assert "expired" in e.value.message
        revoked = admin.revoke_token(token[:12])
        assert revoked.user == "alice" and revoked.revoked_at is not None
    with Client(realm.address, token=token) as client, pytest.raises(Unauthenticated) as e:
        client.chat("hi", timeout=5)
    assert "revoked" in e.value.message


def test_users_see_only_their_own_intents_and_the_sysop_sees_all(cluster):
    realm = cluster.realm()
    cluster.worker(realm)
    with Client(realm.address, token=realm.new_user("alice")) as alice, \
            Client(realm.address, token=realm.new_user("bob")) as bob, \
            Client(realm.address, token=SYSOP_TOKEN) as sysop, Client(realm.address) as anonymous:
        running = alice.submit(chat_request("!sleep 5"))
        intent_id = next(running).intent_id
        for other in (bob, anonymous):
            for call in (lambda: other.get(intent_id), lambda: other.cancel(intent_id),
                         lambda: list(other.watch(intent_id))):
                with pytest.raises(PermissionDenied) as e:
                    call()
                assert "belongs to another user" in e.value.message
        assert alice.get(intent_id).state in ("queued", "running")
        assert sysop.get(intent_id).state in ("queued", "running")
        assert sysop.cancel(intent_id) == "cancelled"
        assert isinstance(_outcome(running), Cancelled)


def test_only_a_sysop_may_call_admin(cluster):
    realm = cluster.realm()
    user_token = realm.new_user("alice")
    calls = [("ListUsers", admin_pb2.ListUsersRequest()), ("CreateUser", admin_pb2.CreateUserRequest(name="x")),
             ("BanUser", admin_pb2.BanUserRequest(name="alice")), ("Broadcast", admin_pb2.BroadcastRequest(text="x")),
             ("CreateToken", admin_pb2.CreateTokenRequest(user="alice")), ("ListAudit", admin_pb2.ListAuditRequest())]
    with grpc.insecure_channel(realm.address) as channel:
        stub = admin_pb2_grpc.AdminStub(channel)
        for token, code, text in [(user_token, grpc.StatusCode.PERMISSION_DENIED, "alice is not a sysop"),
                                  (None, grpc.StatusCode.PERMISSION_DENIED, "anonymous is not a sysop"),
                                  ("mtor_wrong", grpc.StatusCode.UNAUTHENTICATED, "unknown token")]:
            metadata = [("authorization", f"Bearer {token}")] if token else []
            for method, request in calls:
                with pytest.raises(grpc.RpcError) as e:
                    getattr(stub, method)(request, metadata=metadata, timeout=5)
                assert e.value.code() == code and text in e.value.details(), (method, e.value.details())
    with realm.admin() as admin:
        assert [u.name for u in admin.users()] == ["alice", "sysop"]  # nothing above was done
        admin.set_role("alice", "sysop")
    with AdminClient(realm.address, token=user_token) as alice:
        assert alice.create_user("carol").role == "user"  # alice is a sysop now


def test_a_ban_cancels_running_and_queued_work_and_refuses_the_user(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)
    token = realm.new_user("mallory")
    with Client(realm.address, token=token) as mallory, realm.admin() as admin:
        running = mallory.submit(chat_request("!sleep 30"))
        running_id = next(running).intent_id
        assert next(running).worker == "w1"  # started
        queued = mallory.submit(chat_request("waits"))
        queued_id = next(queued).intent_id
        banned = admin.ban("mallory", "abuse")
        assert banned.banned and banned.ban_reason == "abuse"
        for stream in (running, queued):
            error = _outcome(stream)
            assert isinstance(error, Cancelled) and "the user was banned (abuse)" in error.message
        with pytest.raises(PermissionDenied) as e:
            mallory.chat("let me in", timeout=5)
        assert e.value.message == "you are banned: abuse"
        with Client(realm.address, token=SYSOP_TOKEN) as sysop:
            assert sysop.get(running_id).state == sysop.get(queued_id).state == "cancelled"
            assert sysop.chat("the worker is free again", timeout=10).worker == "w1"
        admin.unban("mallory")
        assert mallory.chat("sorry", timeout=10).text == "echo: sorry"


def test_terminate_cancels_a_users_work_without_banning(cluster):
    realm = cluster.realm()
    cluster.worker(realm, concurrency=1)
    with Client(realm.address, token=realm.new_user("alice")) as alice, realm.admin() as admin:
        streams = [alice.submit(chat_request("!sleep 30")) for _ in range(3)]
        for stream in streams:
            next(stream)
        assert admin.terminate("alice") == 3
        assert alice.chat("still welcome", timeout=10).text == "echo: still welcome"


def test_the_first_start_creates_the_sysop_and_shows_its_token_once(cluster):
    realm = cluster.realm({"MTOR_SYSOP_TOKEN": "", "MTOR_JOIN_TOKEN": ""})
    out = realm.proc.output()
    sysop_token = re.search(r"sysop token, shown only now, keep it: (\S+)", out).group(1)
    join_token = re.search(r"worker join token, shown only now .*: (\S+)", out).group(1)
    with AdminClient(realm.address, token=sysop_token) as admin:
        assert [(u.name, u.role) for u in admin.users()] == [("sysop", "sysop")]
        assert [t.purpose for t in admin.tokens()] == ["user", "join"]
    cluster.worker(realm, env={"MTOR_JOIN_TOKEN": join_token})
    assert realm.workers() == 1
    realm.proc.terminate()
    again = cluster.restart(realm)
    assert "shown only now" not in again.proc.output()
    secrets = (realm.data_dir / "mtor.db").read_bytes() + (realm.data_dir / "mtor.db-wal").read_bytes()
    assert sysop_token.encode() not in secrets and join_token.encode() not in secrets  # hashes only


def test_join_tokens_are_created_and_revoked_by_the_sysop(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        fresh = admin.create_join_token(label="gpu box")
        assert fresh.info.purpose == "join" and fresh.info.label == "gpu box"
        worker = cluster.worker(realm, "gpu", env={"MTOR_JOIN_TOKEN": fresh.token})
        assert realm.workers() == 1
        admin.revoke_token(fresh.info.prefix)
    worker.kill9()
    wait_until(lambda: realm.workers() == 0, 5, what="the worker to be gone")
    refused = cluster.worker(realm, "gpu2", env={"MTOR_JOIN_TOKEN": fresh.token}, wait=False)
    wait_until(lambda: "refused this worker: UNAUTHENTICATED" in refused.output(), 10, what="the refusal")
    assert "is revoked" in refused.output() and realm.workers() == 0
    assert JOIN_TOKEN != fresh.token


def test_broadcasts_reach_every_follower_and_every_admin_change_is_audited(cluster):
    realm = cluster.realm()
    token = realm.new_user("alice")
    received: list[str] = []

    async def follow() -> None:
        async with AsyncClient(realm.address, token=token) as alice:
            async for notice in alice.notices():
                received.append(notice.text)

    async def scenario() -> int:
        listener = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        with realm.admin() as admin:
            count = await asyncio.to_thread(admin.broadcast, "maintenance at noon")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
        listener.cancel()
        return count

    assert asyncio.run(scenario()) == 1 and received == ["maintenance at noon"]
    with realm.admin() as admin:
        admin.set_role("alice", "sysop")
        admin.ban("alice", "testing")
        admin.unban("alice")
        admin.terminate("alice")
        prefix = admin.create_join_token().info.prefix
        admin.revoke_token(prefix)
        admin.users()  # reads are not changes
        entries = admin.audit()
    assert [(e.actor, e.action) for e in entries] == [
        ("sysop", "RevokeToken"), ("sysop", "CreateToken"), ("sysop", "TerminateUser"), ("sysop", "UnbanUser"),
        ("sysop", "BanUser"), ("sysop", "SetRole"), ("sysop", "Broadcast"), ("sysop", "CreateToken"),
        ("sysop", "CreateUser")]
    assert entries[0].target == prefix and entries[4].target == "alice" and "testing" in entries[4].detail
    assert all(e.time is not None for e in entries)
