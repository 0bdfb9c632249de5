"""`mtor admin` as a sysop runs it: every group against a real realm with echo workers, read back from the
tables it prints and checked against what the realm then does."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
from harness import FAST, SYSOP_TOKEN, Realm, wait_until
from mtor_client import Client, MtorError, PermissionDenied, ResourceExhausted
from mtor_client._convert import chat_request
from mtor_client.types import Failed
from test_cli import mtor


def admin(realm: Realm, *args: str, token: str = SYSOP_TOKEN) -> subprocess.CompletedProcess:
    """`mtor admin ARGS --realm ADDRESS`: the realm flag after the action, where a person tends to add it."""
    return mtor("admin", *args, "--realm", realm.address, env={"MTOR_TOKEN": token})


def ok(realm: Realm, *args: str) -> str:
    result = admin(realm, *args)
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr
    return result.stdout


def tables(out: str) -> list[list[dict[str, str]]]:
    """Each blank-line-separated block of the output as rows keyed by its header line (cells are 2+ spaces
    apart)."""
    found = []
    for block in out.strip().split("\n\n"):
        header, *lines = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines()]
        found.append([dict(zip(header, cells)) for cells in lines])
    return found


def rows(out: str) -> list[dict[str, str]]:
    return tables(out)[0]


def test_workers_queue_and_pools(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1", concurrency=1)
    with Client(realm.address) as client:
        running = client.submit(chat_request("!sleep 30 busy"))
        running_id = next(running).intent_id
        next(running)  # started on w1
        queued = [client.submit(chat_request(f"waits {i}")) for i in range(2)]
        queued_ids = [next(s).intent_id for s in queued]

        [w1] = rows(ok(realm, "workers"))
        assert (w1["NAME"], w1["HEALTH"], w1["STATE"], w1["RUNNING"]) == ("w1", "100", "available", "1/1")
        assert set(w1["KINDS[MODELS]"].split()) == {"chat", "transcribe", "speak", "imagine", "vision",
                                                    "embed"}  # any model
        assert w1["DEVICE (VRAM FREE/TOTAL)"].startswith("cpu") and re.fullmatch(r"\d+\.\ds", w1["HEARTBEAT"])

        queue = rows(ok(realm, "queue"))
        assert [r["ID"] for r in queue] == [running_id, *queued_ids]
        assert [(r["USER"], r["KIND"], r["MODEL"], r["STATE"], r["WORKER/POSITION"]) for r in queue] == [
            ("anonymous", "chat", "any", "running", "w1"), ("anonymous", "chat", "any", "queued", "#1"),
            ("anonymous", "chat", "any", "queued", "#2")]
        assert ok(realm, "queue", "clear", "--kind", "chat").startswith("cancelled 2 queued intents of kind chat")
        assert ok(realm, "queue", "cancel", running_id, "--reason", "not now").strip() == f"{running_id}: cancelled"
        end = list(running)[-1]
        assert isinstance(end, Failed) and end.error.message == "not now"
        assert all(isinstance(list(s)[-1], Failed) for s in queued)
        assert "the queue is empty" in ok(realm, "queue")

        assert ok(realm, "workers", "drain", "w1").startswith("drained w1: draining")
        assert rows(ok(realm, "workers"))[0]["STATE"] == "draining"
        assert ok(realm, "workers", "readmit", "w1").startswith("readmitted w1: available")

        set_out = ok(realm, "pools", "set", "fast", "--kind", "chat", "--workers", "w1", "--strategy", "round_robin",
                     "--special", "code=python,rust:w1")
        assert rows(set_out)[0] == {"POOL": "$fast", "KIND": "chat", "STRATEGY": "round_robin", "WORKERS": "w1",
                                    "SPECIALISATIONS": "code=python,rust:w1"}
        assert client.chat("via the pool", model="$fast", timeout=10).worker == "w1"
        [listed] = json.loads(ok(realm, "pools", "--json"))
        assert listed["name"] == "fast" and listed["specialisations"][0]["keywords"] == ["python", "rust"]
        assert "deleted pool $fast" in ok(realm, "pools", "delete", "$fast")
        assert ok(realm, "pools").startswith("no pools")


def test_users_tokens_bans_quotas_and_the_audit_log(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    assert "created user alice" in ok(realm, "users", "add", "alice")
    made = admin(realm, "tokens", "create", "alice", "--label", "laptop")
    token = made.stdout.strip()
    assert made.returncode == 0 and token.startswith("mtor_") and len(token.split()) == 1
    assert "token for alice" in made.stderr and "not shown again" in made.stderr
    [listed] = rows(ok(realm, "tokens", "--user", "alice"))
    assert token.startswith(listed["PREFIX"]) and (listed["LABEL"], listed["EXPIRES"], listed["REVOKED"]) == (
        "laptop", "never", "-")

    with Client(realm.address, token=token) as alice:
        assert alice.chat("hi", timeout=10).text == "echo: hi"  # the printed token works

        ok(realm, "users", "ban", "alice", "--reason", "abuse")
        users = {r["NAME"]: r for r in rows(ok(realm, "users"))}
        assert (users["alice"]["ROLE"], users["alice"]["BANNED"], users["alice"]["LIVE TOKENS"]) == (
            "user", "yes: abuse", "1")
        assert users["sysop"]["BANNED"] == "no"
        with pytest.raises(PermissionDenied, match="you are banned: abuse"):
            alice.chat("let me in", timeout=5)
        assert ok(realm, "users", "unban", "alice").strip() == "unbanned alice"

        assert "rate 1 intents/min; budget 2.5000 per" in ok(realm, "quota", "alice", "--rpm", "1", "--budget", "2.5")
        with pytest.raises(ResourceExhausted):
            alice.chat("over the rate", timeout=5)  # "hi" used this minute's one
        assert "rate no limit; budget no limit" in ok(realm, "quota", "alice")  # back to the defaults
        assert alice.chat("welcome back", timeout=10).text == "echo: welcome back"

        refused = admin(realm, "users", token=token)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.startswith("mtor admin: PERMISSION_DENIED: ") and "sysop" in refused.stderr

        busy = alice.submit(chat_request("!sleep 30"))
        next(busy)
        assert ok(realm, "users", "terminate", "alice").strip() == "cancelled 1 intent of alice"
        assert isinstance(list(busy)[-1], Failed)

    assert ok(realm, "users", "role", "alice", "sysop").strip() == "alice is now a sysop"
    assert admin(realm, "users", token=token).returncode == 0  # alice may run the realm now

    joined = admin(realm, "tokens", "join", "--label", "gpu box")
    assert joined.returncode == 0 and "join token" in joined.stderr and "not shown again" in joined.stderr
    prefix = joined.stdout.strip()[:12]
    assert ok(realm, "tokens", "revoke", prefix).startswith(f"revoked {prefix} (join token")
    every = {r["PREFIX"]: r for r in rows(ok(realm, "tokens", "list", "--all"))}
    assert (every[prefix]["PURPOSE"], every[prefix]["USER"], every[prefix]["LABEL"]) == ("join", "-", "gpu box")
    assert every[prefix]["REVOKED"] != "-" and every[listed["PREFIX"]]["REVOKED"] == "-"

    log = rows(ok(realm, "audit"))
    assert [r["ACTION"] for r in log] == ["RevokeToken", "CreateToken", "SetRole", "TerminateUser", "SetQuota",
                                          "SetQuota", "UnbanUser", "BanUser", "CreateToken", "CreateUser"]
    assert all(r["ACTOR"] == "sysop" for r in log) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", log[0]["TIME"])
    assert log[7]["TARGET"] == "alice" and "abuse" in log[7]["DETAIL"]
    assert len(rows(ok(realm, "audit", "--limit", "2"))) == 2


def test_stats_broadcast_and_watch(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    with Client(realm.address, token=realm.new_user("bob")) as bob:
        for i in range(3):
            bob.chat(f"hi {i}", timeout=10)
        with pytest.raises(MtorError):
            bob.chat("!fail on purpose", timeout=10)
    out = ok(realm, "stats")
    assert re.match(r"realm: 4 intents, .* processing, cost \d+\.\d{4}; users connected now \d+, most ever [1-9]", out)
    _, kinds, users = tables(out)
    assert [(k["KIND"], k["INTENTS"], k["SUCCEEDED"]) for k in kinds] == [("chat", "4", "3")]
    assert [(u["USER"], u["INTENTS"]) for u in users] == [("bob", "4")] and "rate no limit" in users[0]["QUOTA"]
    assert "bob by kind:" in ok(realm, "stats", "--user", "bob")

    watching = subprocess.Popen([sys.executable, "-m", "mtor_server.cli", "admin", "watch", "--interval", "0.1",
                                 "--realm", realm.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, **FAST, "MTOR_TOKEN": SYSOP_TOKEN})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(watching.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(re.fullmatch(r"\d\d:\d\d:\d\d  workers 1: w1 100% 0/4  \|  queue empty  \|  users \d+\n",
                                            line) for line in lines), 15, what=f"a snapshot line in {lines}")
        assert ok(realm, "broadcast", "maintenance", "at noon").strip() == "notice sent to 1 recipient"  # the watcher
        wait_until(lambda: any(line.endswith("  notice [info] maintenance at noon\n") for line in lines), 10,
                   what=f"the notice in {lines}")
        watching.send_signal(signal.SIGINT)  # Ctrl-C
        assert watching.wait(10) == 0
        assert "Traceback" not in watching.stderr.read()
    finally:
        if watching.poll() is None:
            watching.kill()
            watching.wait(10)


def test_bad_flags_exit_2_and_an_unreachable_realm_exits_1():
    for args in (["admin"], ["admin", "pools", "set", "p", "--kind", "chat", "--workers", "w1", "--strategy", "fast"],
                 ["admin", "users", "role", "alice", "king"], ["admin", "workers", "evict", "w1"]):
        result = mtor(*args)
        assert result.returncode == 2 and "usage: mtor admin" in result.stderr, (args, result.stderr)
    unreachable = mtor("admin", "--realm", "127.0.0.1:1", "users", "list")  # the flag before the group holds
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("mtor admin: UNAVAILABLE")
    assert "is the realm at 127.0.0.1:1 running?" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
