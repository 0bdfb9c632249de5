"""A data dir of an older release opens and upgrades in place; one written by a newer release is refused.

tests/data/release-01adfd5/ is the data dir of a realm of commit 01adfd5 (before versioned schemas), made by
running that commit's `mtor realm` with an echo worker: a user alice with a token, a pool $TEAM, a peer
realm north, and four chat intents of the sysop's, accounted.
"""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from harness import spawn

from mtor_server.store.schema import Schema, SchemaTooNew, pending

OLD_RELEASE = Path(__file__).parent / "data" / "release-01adfd5"
PARTS = {"intents", "accounts", "audit", "ledger", "quotas", "pools", "peers", "federation_usage"}


def _versions(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT part, version FROM schema_versions"))


def test_the_previous_releases_data_dir_opens_and_upgrades(cluster) -> None:
    data = cluster.root / "realm"
    shutil.copytree(OLD_RELEASE, data)
    realm = cluster.realm()
    with realm.admin() as admin:
        assert {u.name for u in admin.users()} >= {"alice", "sysop"}
        assert [p.name for p in admin.pools()] == ["TEAM"]
        assert [p.name for p in admin.peers()] == ["north"]
        sysop = admin.stats().user("sysop")
        assert sysop is not None and sysop.intents == 4 and sysop.cost == pytest.approx(0.04, abs=1e-3)
    rid = (OLD_RELEASE / "realm_id").read_text().strip()
    assert realm.describe().id == rid
    out = realm.proc.output()
    assert "store: intents upgraded to schema version 1" in out, out
    assert realm.proc.terminate() == 0
    assert set(_versions(data / "mtor.db")) == PARTS
    assert set(_versions(data / "mtor.db").values()) == {1}

    again = cluster.restart(realm)  # upgraded once: nothing more to run
    assert "upgraded" not in again.proc.output()
    assert again.proc.terminate() == 0


def test_a_data_dir_of_a_newer_release_is_refused_by_name(cluster) -> None:
    data = cluster.root / "realm"
    shutil.copytree(OLD_RELEASE, data)
    assert cluster.realm().proc.terminate() == 0
    with sqlite3.connect(data / "mtor.db") as conn:
        conn.execute("UPDATE schema_versions SET version = 7 WHERE part = 'ledger'")
    proc = spawn(["realm", "--listen", "127.0.0.1:0", "--data-dir", str(data)], cluster.root / "refused.log")
    cluster.procs.append(proc)
    assert proc.popen.wait(30) != 0
    out = proc.output()
    assert "written by a newer release of MTOR" in out and "ledger is at version 7, this realm knows 1" in out, out
    assert "Traceback" not in out, out


def test_pending_migrations_run_in_order_from_where_each_part_is() -> None:
    a = Schema("a", ("A1", "A2", "A3"))
    b = Schema("b", ("B1",))
    assert [(s.part, v) for s, v in pending([a, b], {})] == [("a", 1), ("a", 2), ("a", 3), ("b", 1)]
    assert [(s.part, v) for s, v in pending([a, b], {"a": 2, "b": 1})] == [("a", 3)]
    assert pending([a, b], {"a": 3, "b": 1, "retired": 9}) == []  # a part this realm does not keep: left alone
    with pytest.raises(SchemaTooNew, match="b is at version 2, this realm knows 1"):
        pending([a, b], {"b": 2})
