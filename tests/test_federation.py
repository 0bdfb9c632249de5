"""Federation between real realm processes on 127.0.0.1: A, B and C, each with its own data dir, sysop and
workers, linked with `Peers.AddPeer` tokens. Nothing is mocked: intents cross real Forward calls."""
from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from harness import SYSOP_TOKEN, Realm, wait_until
from mtor_client import Client, Failed, Finished, MtorError, Retrying, Started
from mtor_client._proto.mtor.v1 import federation_pb2, federation_pb2_grpc, intent_pb2
from mtor_client.admin import Pool
from netns import needs_netns
from test_cli_admin import ok, rows


def named(cluster, name: str, **env: str) -> Realm:
    return cluster.realm({"MTOR_REALM_NAME": name, **env}, name=name)


def trust(server: Realm, caller: Realm, caller_name: str, server_name: str, **limits) -> tuple[str, str]:
    """`caller` may forward to `server`: the server's sysop adds the caller and hands over the token, the
    caller's sysop adds the server with its address and that token. Returns (that token, the one the caller
    made for the server in turn)."""
    with server.admin() as admin:
        token = admin.add_peer(caller_name, **limits).token
    with caller.admin() as admin:
        return token, admin.add_peer(server_name, address=server.address, token=token).token


def trust_both(x: Realm, x_name: str, y: Realm, y_name: str) -> None:
    """Either may forward to the other: the flow `mtor admin peer add` prints."""
    _, back = trust(y, x, x_name, y_name)
    with y.admin() as admin:
        admin.add_peer(x_name, address=x.address, token=back)


def peer_up(realm: Realm, name: str, kind: str | None = "chat") -> None:
    """Wait until `realm`'s link to peer `name` is up (and the peer reports `kind`)."""
    def up() -> bool:
        with realm.admin() as admin:
            peer = next((p for p in admin.peers() if p.name == name), None)
        return peer is not None and peer.state == "up" and (kind is None or any(k.kind == kind
                                                                                for k in peer.capacity))
    wait_until(up, 20.0, what=f"peer {name} up at the realm" + (f" with {kind}" if kind else ""))


def events(client: Client, prompt: str, timeout: float = 30) -> list:
    return list(client.submit(intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt=prompt)), timeout=timeout))


def test_an_intent_at_a_is_served_by_cs_worker_and_streams_back(cluster):
    a, c = named(cluster, "A"), named(cluster, "C")
    cluster.worker(c, "c-worker")
    trust(c, a, "A", "C")
    peer_up(a, "C")
    with Client(a.address) as client:
        seen = events(client, "hello from A")
    started = [e for e in seen if isinstance(e, Started)]
    assert len(started) == 1 and started[0].worker == "c-worker" and started[0].realm == "C", seen
    assert "C" in started[0].reason or "score" in started[0].reason, started[0].reason
    end = seen[-1]
    assert isinstance(end, Finished), seen
    assert end.result.text == "echo: hello from A" and end.result.realm == "C" and end.result.worker == "c-worker"
    assert sum(1 for e in seen if isinstance(e, (Finished, Failed))) == 1


def test_each_kind_goes_to_the_realm_that_serves_it(cluster):
    a, b, c = named(cluster, "A"), named(cluster, "B"), named(cluster, "C")
    cluster.worker(b, "b-speaker", backends="piper")  # real models: speak only at B, chat only at C
    cluster.worker(c, "c-chatter", backends="llama")
    trust(b, a, "A", "B")
    trust(c, a, "A", "C")
    peer_up(a, "B", "speak")
    peer_up(a, "C", "chat")
    with Client(a.address) as client:
        spoken = client.speak("Hello from realm A.", timeout=60)
        answer = client.chat("Say hi.", max_tokens=8, timeout=60)
    assert (spoken.realm, spoken.worker) == ("B", "b-speaker") and spoken.wav[:4] == b"RIFF"
    assert (answer.realm, answer.worker) == ("C", "c-chatter") and answer.text.strip()


def test_nobody_serving_the_kind_fails_at_once_without_bouncing(cluster):
    # A and B trust each other and each routes chat to the other: a loop waiting to happen, and no chat worker
    a = named(cluster, "A", MTOR_FEDERATION_ROUTES="chat=B")
    b = named(cluster, "B", MTOR_FEDERATION_ROUTES="chat=A")
    cluster.worker(b, "b-worker", backends="piper")  # B serves speak only
    trust_both(a, "A", b, "B")
    peer_up(a, "B", "speak")
    peer_up(b, "A", None)  # A reports nothing to B: it has no worker, and B's speak is never reported back to B
    t0 = time.monotonic()
    with Client(a.address) as client, pytest.raises(MtorError) as raised:
        client.chat("anyone?", timeout=30)
    assert time.monotonic() - t0 < 5
    assert raised.value.code.name == "FAILED_PRECONDITION"
    assert "no realm can serve chat" in str(raised.value) and "realm A" in str(raised.value), raised.value
    assert "forwarded to realm" not in a.proc.output() + b.proc.output()


def forward(realm: Realm, token: str, request: federation_pb2.ForwardRequest) -> list[intent_pb2.IntentEvent]:
    """A raw Federation.Forward call, as a peer realm makes it."""
    with realm.channel() as channel:
        stub = federation_pb2_grpc.FederationStub(channel)
        return list(stub.Forward(request, metadata=(("authorization", f"Bearer {token}"),), timeout=10))


def chat_request(prompt: str) -> intent_pb2.IntentRequest:
    return intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(prompt=prompt))


def test_two_hops_and_what_stops_a_loop(cluster):
    a, b, c = named(cluster, "A"), named(cluster, "B"), named(cluster, "C")
    cluster.worker(c, "c-worker")
    a_at_b, _ = trust(b, a, "A", "B")  # A -> B -> C: B knows C, A only B
    b_at_c, _ = trust(c, b, "B", "C")
    peer_up(b, "C")
    peer_up(a, "B")  # B reports chat to A, one hop beyond it
    with a.admin() as admin:
        offer = next(k for k in admin.peers()[0].capacity if k.kind == "chat")
    assert offer.hops == 1
    with Client(a.address) as client:
        seen = events(client, "two hops")
    assert [(e.worker, e.realm) for e in seen if isinstance(e, Started)] == [("c-worker", "C")]
    assert isinstance(seen[-1], Finished) and seen[-1].result.text == "echo: two hops"

    b_id = b.describe().id
    with b.channel() as channel:  # Hello: B says who it is; the token's realm is A's, learned at its first Hello
        stub, auth = federation_pb2_grpc.FederationStub(channel), (("authorization", f"Bearer {a_at_b}"),)
        a_id = a.describe().id
        hello = stub.Hello(federation_pb2.FederationHello(realm_id=a_id, name="A", protocol=1), metadata=auth)
        assert (hello.realm_id, hello.name, list(hello.kinds)) == (b_id, "B", [])  # no worker of its own
        for wrong, code in (({"realm_id": "f" * 32, "protocol": 1}, grpc.StatusCode.PERMISSION_DENIED),
                            ({"realm_id": a_id, "protocol": 99}, grpc.StatusCode.FAILED_PRECONDITION)):
            with pytest.raises(grpc.RpcError) as raised:
                stub.Hello(federation_pb2.FederationHello(name="A", **wrong), metadata=auth)
            assert raised.value.code() is code, raised.value
    with c.channel() as channel:  # C's echo worker serves every kind
        hello = federation_pb2_grpc.FederationStub(channel).Hello(
            federation_pb2.FederationHello(realm_id=b_id, name="B", protocol=1),
            metadata=(("authorization", f"Bearer {b_at_c}"),))
        assert set(hello.kinds) == {intent_pb2.KIND_CHAT, intent_pb2.KIND_TRANSCRIBE, intent_pb2.KIND_SPEAK,
                                    intent_pb2.KIND_IMAGINE, intent_pb2.KIND_VISION, intent_pb2.KIND_EMBED}
    with pytest.raises(grpc.RpcError) as raised:  # B already visited: refused, never run or passed on
        forward(b, a_at_b, federation_pb2.ForwardRequest(intent=chat_request("loop"), visited=["x" * 32, b_id],
                                                         hops_left=2))
    assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION and "loop" in raised.value.details()
    with pytest.raises(grpc.RpcError) as raised:  # no forwards left, and B has no worker of its own
        forward(b, a_at_b, federation_pb2.ForwardRequest(intent=chat_request("no hops"), visited=["x" * 32],
                                                         hops_left=0))
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE and "no realm can serve chat" in raised.value.details()
    served = forward(b, a_at_b, federation_pb2.ForwardRequest(intent=chat_request("one more"), visited=["x" * 32],
                                                              hops_left=1))
    assert served[-1].result.realm == "C" and served[-1].result.text.text == "echo: one more"


def test_c_losing_its_worker_mid_intent_sends_it_to_b_with_one_result(cluster):
    a = named(cluster, "A", MTOR_FEDERATION_ROUTES="chat=C,B")  # C first, B its backup
    b, c = named(cluster, "B"), named(cluster, "C")
    cluster.worker(b, "b-worker", delay=0.05)
    victim = cluster.worker(c, "c-worker", delay=0.2)
    trust(b, a, "A", "B")
    trust(c, a, "A", "C")
    peer_up(a, "B")
    peer_up(a, "C")
    prompt = " ".join(f"w{i}" for i in range(25))  # 25 chunks: 5 s at C
    with Client(a.address) as client:
        stream = client.submit(chat_request(prompt), timeout=60)
        seen = []
        for event in stream:
            seen.append(event)
            if isinstance(event, Started):
                break
        assert (seen[-1].realm, seen[-1].worker) == ("C", "c-worker") and "route chat=C,B" in seen[-1].reason
        victim.kill9()
        seen += list(stream)
    retries = [e for e in seen if isinstance(e, Retrying)]
    assert len(retries) == 1 and "realm C" in retries[0].reason, retries
    assert [(e.realm, e.worker) for e in seen if isinstance(e, Started)] == [("C", "c-worker"), ("B", "b-worker")]
    ends = [e for e in seen if isinstance(e, (Finished, Failed))]
    assert len(ends) == 1 and isinstance(ends[0], Finished), seen
    assert ends[0].result.realm == "B" and ends[0].result.text == f"echo: {prompt}"


@pytest.mark.parametrize("how", ["kill", "freeze"])
def test_realm_c_dying_mid_intent_sends_it_to_b_with_one_result(cluster, how):
    """kill -9 breaks the link at once; a frozen C (SIGSTOP: no reset) is found out by its missing reports."""
    a = named(cluster, "A", MTOR_FEDERATION_ROUTES="chat=C,B")
    b, c = named(cluster, "B"), named(cluster, "C")
    cluster.worker(b, "b-worker")
    cluster.worker(c, "c-worker", delay=0.2)
    trust(b, a, "A", "B")
    trust(c, a, "A", "C")
    peer_up(a, "B")
    peer_up(a, "C")
    with Client(a.address) as client:
        stream = client.submit(chat_request("the serving realm goes away " * 5), timeout=60)
        seen = []
        for event in stream:
            seen.append(event)
            if isinstance(event, Started):
                break
        assert seen[-1].realm == "C"
        t0 = time.monotonic()
        if how == "kill":
            c.proc.kill9()
        else:
            c.proc.popen.send_signal(signal.SIGSTOP)
        try:
            seen += list(stream)
        finally:
            if how == "freeze":
                c.proc.popen.send_signal(signal.SIGCONT)
        rerouted_after = time.monotonic() - t0
    retries = [e for e in seen if isinstance(e, Retrying)]
    # whichever C's link or the forward call notices first
    assert len(retries) == 1 and re.match(r"realm C( lost)?: ", retries[0].reason), retries
    assert [e.realm for e in seen if isinstance(e, Started)] == ["C", "B"]
    ends = [e for e in seen if isinstance(e, (Finished, Failed))]
    assert len(ends) == 1 and isinstance(ends[0], Finished) and ends[0].result.realm == "B", seen
    assert rerouted_after < 10  # frozen: 3 missed reports at the harness's 0.2 s interval, and B's time to serve
    if how == "kill":  # C, restarted, does not run the intent again (A re-routed it): it records it as ended
        c = cluster.restart(c)
        with c.admin() as admin:
            assert admin.queue() == []
            [usage] = wait_until(admin.federation_usage, 5.0, what="C's record of the intent it ended at its start")
        assert (usage.peer, usage.served_for_them.intents, usage.served_for_them.succeeded) == ("A", 1, 0)


def test_cancel_at_a_stops_the_work_at_c(cluster):
    a, c = named(cluster, "A"), named(cluster, "C")
    cluster.worker(c, "c-worker", delay=0.3)
    trust(c, a, "A", "C")
    peer_up(a, "C")
    with Client(a.address) as client:
        stream = client.submit(chat_request(" ".join(["slow"] * 40)), timeout=60)
        intent_id = next(stream).intent_id
        assert any(isinstance(e, Started) for e in stream)  # stops at the first Started
        with c.admin() as admin:
            assert [q.user for q in admin.queue()] == ["peer:A"]  # running at C
        client.cancel(intent_id)
        assert isinstance(list(stream)[-1], Failed)
    with c.admin() as admin:
        wait_until(lambda: not admin.queue(), 5.0, what="C to stop the forwarded intent")
        usage = admin.federation_usage()
    assert [(u.peer, u.served_for_them.intents, u.served_for_them.succeeded) for u in usage] == [("A", 1, 0)]


def test_peers_without_valid_credentials_or_over_their_limits_are_refused(cluster):
    a, c = named(cluster, "A"), named(cluster, "C")
    cluster.worker(c, "c-worker")
    with c.admin() as admin:
        good = admin.add_peer("A", kinds=("chat",), requests_per_minute=2).token
        [listed] = admin.tokens("A")  # kept hashed, listed like any other token
        assert (listed.purpose, listed.user) == ("peer", "A") and good.startswith(listed.prefix)
    with a.admin() as admin:
        with pytest.raises(MtorError) as bad:
            admin.add_peer("C", address="c-host", token=good)
        assert bad.value.code.name == "INVALID_ARGUMENT" and "HOST:PORT" in str(bad.value)
        admin.add_peer("C", address=c.address, token="mtor_not-the-token")
        wait_until(lambda: admin.peers()[0].state == "refused", 10.0, what="A to be refused by C")
        assert "UNAUTHENTICATED" in admin.peers()[0].detail
    for token in ("mtor_not-the-token", SYSOP_TOKEN):  # a user's (even a sysop's) token is no peer token
        with pytest.raises(grpc.RpcError) as raised:
            forward(c, token, federation_pb2.ForwardRequest(intent=chat_request("x")))
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as raised:  # a kind C does not accept from A
        forward(c, good, federation_pb2.ForwardRequest(
            intent=intent_pb2.IntentRequest(speak=intent_pb2.SpeakRequest(text="hi"))))
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and "speak" in raised.value.details()

    with a.admin() as admin:  # now with the right token: up, and C's limit of 2 a minute holds
        admin.add_peer("C", token=good)
    peer_up(a, "C")
    with Client(a.address) as client:
        assert client.chat("one", timeout=10).realm == "C"
        assert client.chat("two", timeout=10).realm == "C"
        with pytest.raises(MtorError) as raised:
            client.chat("three", timeout=10)
    assert raised.value.code.name == "FAILED_PRECONDITION"
    assert "RESOURCE_EXHAUSTED" in str(raised.value) and "rate limit" in str(raised.value), raised.value


def test_routes_by_model_and_pool_alias_prefer_their_realms(cluster):
    # B and C both serve chat (any model), B with more free slots: the score alone picks B. Routes send the
    # model "big" and A's pool "$fast" to C, when A's own worker cannot take them.
    a = named(cluster, "A", MTOR_FEDERATION_ROUTES="big=C,$fast=C")
    b, c = named(cluster, "B"), named(cluster, "C")
    cluster.worker(a, "a-fast", concurrency=1)
    cluster.worker(b, "b-worker", concurrency=8)
    cluster.worker(c, "c-worker", concurrency=1)
    trust(b, a, "A", "B")
    trust(c, a, "A", "C")
    peer_up(a, "B")
    peer_up(a, "C")
    with a.admin() as admin:
        admin.set_pool(Pool("fast", "chat", ("a-fast",)))
    with Client(a.address) as client:
        assert client.chat("local first", model="$fast", timeout=10).realm == "A"
        assert client.chat("local first", model="big", timeout=10).realm == "A"
        with a.admin() as admin:
            admin.drain_worker("a-fast")  # A cannot take them now
        assert [client.chat("by score", model="small", timeout=10).realm for _ in range(3)] == ["B"] * 3
        assert [client.chat("by route", model="big", timeout=10).realm for _ in range(3)] == ["C"] * 3
        answer = client.chat("pool busy", model="$fast", timeout=10)
    assert (answer.realm, answer.worker) == ("C", "c-worker")


def test_a_peers_cost_ceiling_holds(cluster):
    a, c = named(cluster, "A"), named(cluster, "C")
    cluster.worker(c, "c-worker")
    trust(c, a, "A", "C", budget=0.015)  # C's base charge is 0.01 an intent: the third finds it spent
    peer_up(a, "C")
    with Client(a.address) as client:
        assert [client.chat(f"paid {i}", timeout=10).realm for i in range(2)] == ["C", "C"]
        with pytest.raises(MtorError) as raised:
            client.chat("over budget", timeout=10)
    assert raised.value.code.name == "FAILED_PRECONDITION"
    assert "RESOURCE_EXHAUSTED" in str(raised.value) and "budget spent" in str(raised.value), raised.value


def test_usage_on_a_and_c_agree_after_100_forwarded_intents(cluster):
    a, c = named(cluster, "A"), named(cluster, "C")
    cluster.worker(c, "c-worker", concurrency=8)
    trust(c, a, "A", "C")
    peer_up(a, "C")
    with Client(a.address) as client, ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: client.chat(f"burst {i}", timeout=60), range(100)))
    assert {r.realm for r in results} == {"C"} and len({r.intent_id for r in results}) == 100
    with a.admin() as admin:
        at_a = admin.federation_usage()
    with c.admin() as admin:
        at_c = admin.federation_usage()
    assert [(u.peer, u.served_for_us.intents, u.served_for_us.succeeded) for u in at_a] == [("C", 100, 100)]
    assert [(u.peer, u.served_for_them.intents, u.served_for_them.succeeded) for u in at_c] == [("A", 100, 100)]
    assert at_a[0].served_for_us.cost == pytest.approx(at_c[0].served_for_them.cost, rel=1e-9)
    assert at_a[0].served_for_us.cost > 100 * 0.01 - 1e-9  # C's base charge of 0.01 each, at least
    # intent by intent: A's record of what C served (by C's intent id) is C's ledger row of it
    with sqlite3.connect(a.data_dir / "mtor.db") as db:
        mine = dict(db.execute("SELECT peer_intent, cost FROM forwarded WHERE peer = 'C'").fetchall())
    with sqlite3.connect(c.data_dir / "mtor.db") as db:
        theirs = dict(db.execute("SELECT intent_id, cost FROM ledger WHERE user = 'peer:A'").fetchall())
    assert mine.keys() == theirs.keys() and len(mine) == 100
    assert all(mine[i] == pytest.approx(theirs[i], rel=1e-12) for i in mine)


def test_the_sysops_link_two_realms_with_mtor_admin_peer(cluster):
    a, c = named(cluster, "A"), named(cluster, "C")
    cluster.worker(c, "c-worker", concurrency=3)
    out = ok(c, "peer", "add", "A", "--kinds", "chat,speak", "--rpm", "60")
    for_a = re.search(r"^(mtor_\S+)$", out, re.M).group(1)  # shown once, with what A's sysop runs next
    assert "mtor admin peer add THIS-REALM --address THIS-ADDRESS --peer-token " + for_a in out
    out = ok(a, "peer", "add", "C", "--address", c.address, "--peer-token", for_a)
    for_c = re.search(r"^(mtor_\S+)$", out, re.M).group(1)
    assert for_c != for_a
    [listed] = rows(ok(c, "peer"))
    assert (listed["NAME"], listed["ADDRESS"], listed["STATE"]) == ("A", "-", "inbound-only")

    def c_at_a() -> dict[str, str]:
        return rows(ok(a, "peers"))[0]
    wait_until(lambda: c_at_a()["STATE"] == "up" and "chat:3 free" in c_at_a()["KINDS"], 20.0, what="C up at A")
    assert "speak:3 free" in c_at_a()["KINDS"] and "vision" not in c_at_a()["KINDS"]  # what C accepts from A

    with Client(a.address) as client:
        assert client.chat("via the CLI's link", timeout=10).realm == "C"
    [at_a] = rows(ok(a, "federation", "usage"))
    [at_c] = rows(ok(c, "federation"))
    assert (at_a["PEER"], at_a["FOR US"], at_a["FOR THEM"]) == ("C", "1/1", "0/0")
    assert (at_c["PEER"], at_c["FOR THEM"], at_c["FOR US"]) == ("A", "1/1", "0/0")
    assert at_a["COST FOR US"] == at_c["COST FOR THEM"]

    ok(c, "peer", "remove", "A")  # its token is revoked: A is refused from now on
    wait_until(lambda: c_at_a()["STATE"] == "refused", 20.0, what="A to be refused by C")
    assert "UNAUTHENTICATED" in c_at_a()["DETAIL"]
    assert "no peers" in ok(c, "peer")


@needs_netns
def test_a_realm_seen_on_the_lan_is_used_once_trusted(ns):
    """Inside a network namespace (loopback only): A sees B announced, but forwards to it only once its sysop
    has added B with the token B made for A, and no address: the link goes where the network shows B."""
    _, a = ns.realm("A")
    _, b = ns.realm("B")
    ns.worker("b-worker", "--realm", b)

    def admin(address: str, *args: str) -> str:
        done = ns.run("admin", *args, "--realm", address, env={"MTOR_TOKEN": SYSOP_TOKEN})
        assert done.returncode == 0, done.stderr
        return done.stdout

    wait_until(lambda: any(r["name"] == "B" for r in json.loads(admin(a, "network", "--json"))["realms"]), 20.0,
               what="A to see B on the network")
    assert json.loads(admin(a, "peer", "--json")) == []  # seen, not trusted: not a peer
    for_a = re.search(r"^(mtor_\S+)$", admin(b, "peer", "add", "A"), re.M).group(1)
    admin(a, "peer", "add", "B", "--peer-token", for_a)

    def b_at_a() -> dict:
        return json.loads(admin(a, "peer", "--json"))[0]
    wait_until(lambda: b_at_a()["state"] == "up" and b_at_a()["capacity"], 20.0, what="B up at A")
    assert b_at_a()["address"] == ""  # found, not given
    done = ns.chat(a, "found on the lan")
    assert done.returncode == 0 and "echo: found on the lan" in done.stdout, done.stdout + done.stderr
