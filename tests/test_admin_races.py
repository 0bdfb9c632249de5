"""Admin calls that race on one name (found by tests/test_fuzz.py): each call gets a clear answer, exactly one
of them does what was asked, and no change is lost to another made while it was being written. A real realm,
the calls at once from threads."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest
from mtor_client import Client, MtorError, PermissionDenied
from mtor_client.admin import Pool

ROUNDS = 5
AT_ONCE = 6


def at_once(*calls: Callable[[], object]) -> list[str]:
    """Run the calls together (each thread waits for the others before calling); each one's outcome: "ok" or
    the name of its status code."""
    start = threading.Barrier(len(calls))

    def outcome(call: Callable[[], object]) -> str:
        start.wait()
        try:
            call()
        except MtorError as e:
            return e.code.name
        return "ok"

    with ThreadPoolExecutor(len(calls)) as threads:
        return list(threads.map(outcome, calls))


def test_one_of_concurrent_deletes_of_a_pool_deletes_it(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        for _ in range(ROUNDS):
            admin.set_pool(Pool("gone", "chat", ("w1",)))
            assert sorted(at_once(*[lambda: admin.delete_pool("gone")] * AT_ONCE)) == \
                ["NOT_FOUND"] * (AT_ONCE - 1) + ["ok"]
        assert admin.pools() == []


def test_one_of_concurrent_removals_of_a_peer_removes_it(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        for _ in range(ROUNDS):
            admin.add_peer("east")
            assert sorted(at_once(*[lambda: admin.remove_peer("east")] * AT_ONCE)) == \
                ["NOT_FOUND"] * (AT_ONCE - 1) + ["ok"]
        assert admin.peers() == []


def test_one_of_concurrent_creates_of_a_user_creates_it(cluster):
    realm = cluster.realm()
    with realm.admin() as admin:
        for i in range(ROUNDS):
            assert sorted(at_once(*[lambda: admin.create_user(f"u{i}")] * AT_ONCE)) == \
                ["ALREADY_EXISTS"] * (AT_ONCE - 1) + ["ok"]
        assert sorted(u.name for u in admin.users() if u.name.startswith("u")) == [f"u{i}" for i in range(ROUNDS)]


@pytest.mark.parametrize("role", ["sysop", "user"])
def test_a_ban_made_while_the_role_changes_holds(cluster, role):
    realm = cluster.realm()
    with realm.admin() as admin:
        for i in range(ROUNDS):
            name = f"u{i}"
            token = realm.new_user(name, "sysop" if role == "user" else "user")
            assert at_once(lambda: admin.ban(name, "spam"), lambda: admin.set_role(name, role)) == ["ok", "ok"]
            [user] = [u for u in admin.users() if u.name == name]
            assert (user.banned, user.ban_reason, user.role) == (True, "spam", role)
            with Client(realm.address, token=token) as banned, pytest.raises(PermissionDenied):
                banned.whoami()
