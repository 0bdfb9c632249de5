"""Federation overhead per realm hop against a raw gRPC baseline, measured in one run.

Topology: realms A, B and C in processes of their own, an echo worker at C only; A forwards to B, B to C.
A no-op chat intent submitted at C is served locally, at B it takes one hop (B -> C), at A two (A -> B -> C).
Baseline: a grpc.aio unary echo server in its own process on loopback. All are called with grpc.aio from this
process: first one at a time (latency p50/p99; raw, local, 1 hop and 2 hops interleaved call by call), then
many at a time (throughput; local and 1 hop in alternating rounds). Figures are quoted as ratios to the
baselines of the same run, since the machines are shared and noisy. Target: each hop adds at most one raw
grpc.aio round trip at p50.

Run: `make bench` (or `python bench/bench_federation.py --help`).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc, realm_pb2, realm_pb2_grpc
from mtor_client.admin import AdminClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import relay_floor  # noqa: E402
from bench_core import BENCH_ENV, latency, pct, spawn, throughput  # noqa: E402

# The raw baselines' server: a unary echo (as bench_core's), and a server stream of as many messages as a
# forward of a no-op chat carries back (accepted, started, two deltas, the result): the floor of any hop that
# relays the events one by one.
FORWARD_EVENTS = 5
RAW_SERVER = r"""
import asyncio, grpc
async def main():
    server = grpc.aio.server()
    async def echo(request, context):
        return request
    async def stream(request, context):
        for _ in range(%d):
            yield request
    handler = grpc.method_handlers_generic_handler("bench.Echo", {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Stream": grpc.unary_stream_rpc_method_handler(stream)})
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()
asyncio.run(main())
""" % FORWARD_EVENTS

FLOOR_LOCAL = "relay floor, local (relay + worker)"
FLOOR_HOP = "relay floor, 1 hop (relay -> relay)"
HOP_TARGET = 1.25
"""Issue 16's: a federation hop adds at most this many relay-floor hops at p50."""
SYSOP = "mtor_bench-sysop-token"
RAW = "raw grpc.aio unary echo"
STREAM = f"raw grpc.aio stream of {FORWARD_EVENTS} messages"
PATHS = {"local": "C", "1 hop": "B", "2 hops": "A"}  # path -> the realm it is submitted at
LABEL = {"local": "intent, local (submit at C)", "1 hop": "intent, 1 hop (submit at B -> C)",
         "2 hops": "intent, 2 hops (submit at A -> B -> C)"}
# no announcements on, or queries of, the network (as in tests/harness.py)
QUIET = {"MTOR_DISCOVERY_ADVERTISE": "0", "MTOR_DISCOVERY_WATCH": "0", "HF_HUB_OFFLINE": "1"}
REALM_ENV = {**QUIET, "MTOR_SYSOP_TOKEN": SYSOP}


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def trust(server: str, caller: str, server_name: str, caller_name: str) -> None:
    """`caller` may forward to `server` (the flow of tests/test_federation.py's trust())."""
    with AdminClient(server, token=SYSOP) as admin:
        token = admin.add_peer(caller_name).token
    with AdminClient(caller, token=SYSOP) as admin:
        admin.add_peer(server_name, address=server, token=token)


def chat_hops(realm: str, peer: str) -> int | None:
    """Hops the realm's peer reports for chat when its link is up; None otherwise."""
    with AdminClient(realm, token=SYSOP) as admin:
        info = next((p for p in admin.peers() if p.name == peer), None)
    if info is None or info.state != "up":
        return None
    return next((k.hops for k in info.capacity if k.kind == "chat" and k.free_slots > 0), None)


def chat_workers(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        kinds = realm_pb2_grpc.RealmInfoStub(channel).Describe(realm_pb2.DescribeRequest(), timeout=2).kinds
    return next((k.workers for k in kinds if k.kind == intent_pb2.KIND_CHAT), 0)


async def run(args: argparse.Namespace, echo_addr: str, realms: dict[str, str], floors: dict[str, str]) -> dict:
    channels = {name: grpc.aio.insecure_channel(addr) for name, addr in {**realms, **floors}.items()}
    echo_channel = grpc.aio.insecure_channel(echo_addr)
    try:
        echo = echo_channel.unary_unary("/bench.Echo/Echo")
        stream = echo_channel.unary_stream("/bench.Echo/Stream")
        payload = b"x" * 16
        request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
            chat=intent_pb2.ChatRequest(prompt="ping")))
        stubs = {path: intents_pb2_grpc.IntentsStub(channels[realm]) for path, realm in PATHS.items()}

        async def raw() -> None:
            await echo(payload)

        async def raw_stream() -> None:
            async for _ in stream(payload):
                pass

        def submitter(path: str):
            stub = stubs[path]

            async def intent() -> None:
                async for event in stub.Submit(request):
                    if event.HasField("failed"):
                        raise RuntimeError(f"{path}: {event.failed.message}")
            return intent

        # one checked call per path: served by C's worker, and the route it took
        checks = {}
        for path, stub in stubs.items():
            started, result = [], None
            async for event in stub.Submit(request, timeout=30):
                which = event.WhichOneof("event")
                if which == "failed":
                    raise RuntimeError(f"{path} (submit at {PATHS[path]}) failed: {event.failed.message}")
                if which == "started":
                    started.append(event.started)
                elif which == "result":
                    result = event.result
            if result is None or result.realm != "C" or [s.realm for s in started] != ["C"]:
                raise RuntimeError(f"{path}: not served at C: started {[(s.realm, s.worker) for s in started]}, "
                                   f"result realm {result.realm if result else None!r}")
            checks[path] = (started[0], result)

        def floor(name: str):
            submit = channels[name].unary_stream(
                relay_floor.SUBMIT, request_serializer=intents_pb2.SubmitRequest.SerializeToString,
                response_deserializer=intent_pb2.IntentEvent.FromString)

            async def call() -> None:
                async for _ in submit(request):
                    pass
            return call

        calls = {RAW: raw, STREAM: raw_stream, **{path: submitter(path) for path in PATHS},
                 **{name: floor(name) for name in floors}}
        for call in calls.values():
            for _ in range(args.warmup):
                await call()
        lat = await latency(calls, args.calls)
        rounds: dict[str, list[float]] = {"local": [], "1 hop": []}
        for _ in range(args.rounds):
            for name in rounds:
                rounds[name].append(await throughput(calls[name], args.total // args.rounds, args.concurrency))
    finally:
        await echo_channel.close()
        for channel in channels.values():
            await channel.close()
    return {"checks": checks,
            "lat": {name: (pct(s, 50) * 1e3, pct(s, 99) * 1e3) for name, s in lat.items()},
            "rps": {name: statistics.median(r) for name, r in rounds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per subject for latency")
    parser.add_argument("--total", type=int, default=2000, help="calls per path for throughput, over all rounds")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight for throughput")
    parser.add_argument("--rounds", type=int, default=5, help="alternating throughput rounds")
    parser.add_argument("--warmup", type=int, default=50, help="calls per subject before measuring")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with the realm logs")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="mtor-bench-fed-") if args.keep else None
    with tempfile.TemporaryDirectory() if tmp is None else _Kept(tmp) as tmpdir:
        root = Path(tmpdir)
        procs: list[subprocess.Popen] = []
        try:
            echo, echo_addr = spawn(["-c", RAW_SERVER], root / "echo.log")
            procs.append(echo)
            realms: dict[str, str] = {}
            for name in ("C", "B", "A"):
                env = {**REALM_ENV, "MTOR_REALM_NAME": name,
                       "MTOR_QUEUE_MAX_DEPTH": str(max(100, args.concurrency * 4))}
                proc, realms[name] = spawn(["-m", "mtor_server.cli", "realm", "--listen", "127.0.0.1:0",
                                            "--data-dir", str(root / name)], root / f"realm-{name}.log", env)
                procs.append(proc)
            worker = subprocess.Popen(
                [sys.executable, "-m", "mtor_server.cli", "worker", "--realm", realms["C"], "--name", "c-worker",
                 "--backend", "echo", "--max-concurrency", "64", "--data-dir", str(root / "worker")],
                stdout=(root / "worker.log").open("w"), stderr=subprocess.STDOUT,
                env={**os.environ, **BENCH_ENV, **QUIET})
            procs.append(worker)
            wait_until(lambda: chat_workers(realms["C"]) > 0, 60, "the worker at C")
            trust(realms["C"], realms["B"], "C", "B")  # B forwards to C
            trust(realms["B"], realms["A"], "B", "A")  # A forwards to B
            wait_until(lambda: chat_hops(realms["B"], "C") == 0, 30, "C up at B with chat (0 hops beyond)")
            wait_until(lambda: chat_hops(realms["A"], "B") == 1, 30, "B up at A with chat (1 hop beyond)")
            floor_procs, floor_local = relay_floor.start_floor(root / "floor-local", spawn)
            procs += floor_procs
            floor_procs, floor_hop = relay_floor.start_floor(root / "floor-hop", spawn, hops=1)
            procs += floor_procs
            t0 = time.monotonic()
            out = asyncio.run(run(args, echo_addr, realms, {FLOOR_LOCAL: floor_local, FLOOR_HOP: floor_hop}))
            elapsed = time.monotonic() - t0
        except BaseException:
            for log in sorted(root.glob("*.log")):
                errors = [line for line in log.read_text(errors="replace").splitlines()
                          if re.search(r"error|exception|traceback", line, re.I)]
                if errors:
                    print(f"--- {log.name}:\n" + "\n".join(errors[-20:]), file=sys.stderr)
            raise
        finally:
            for proc in reversed(procs):  # the worker and the forwarding realms first
                proc.kill()
                proc.wait()
    report(args, out, elapsed)
    if tmp is not None:
        print(f"logs kept in {tmp}")


class _Kept:
    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc) -> None:
        pass


def report(args: argparse.Namespace, out: dict, elapsed: float) -> None:
    lat, rps = out["lat"], out["rps"]
    raw50, raw99 = lat[RAW]
    print(f"loopback, {os.cpu_count()} CPUs; realms A -> B -> C, echo worker at C only; latency over {args.calls} "
          f"sequential calls each (interleaved); throughput: median of {args.rounds} alternating rounds, "
          f"{args.total // args.rounds} calls each at concurrency {args.concurrency}; measured in {elapsed:.0f} s")
    for path, (started, result) in out["checks"].items():
        m = re.search(r"(\d+) hop\(s\) beyond", started.reason)
        hops = 0 if not started.reason else (int(m.group(1)) + 1 if m else "?")
        print(f"route check {path:7}: submitted at {PATHS[path]}, started at {started.realm} "
              f"({started.worker}), result from {result.realm}, hops taken {hops}"
              + (f"; reason: {started.reason}" if started.reason else ""))
    print(f"{'':40} {'p50 ms':>8} {'p99 ms':>8} {'p50/raw':>8} {'p99/raw':>8} {'req/s':>8}")
    for name in (RAW, STREAM, FLOOR_LOCAL, FLOOR_HOP, *PATHS):
        p50, p99 = lat[name]
        tput = f"{rps[name]:8.0f}" if name in rps else f"{'':8}"
        print(f"{LABEL.get(name, name):40} {p50:8.3f} {p99:8.3f} {p50 / raw50:7.2f}x {p99 / raw99:7.2f}x {tput}")
    local, one, two = lat["local"][0], lat["1 hop"][0], lat["2 hops"][0]
    first, second = one - local, two - one
    print(f"{'added at p50 by hop 1 (1 hop - local)':40} {first:8.3f} {'':8} {first / raw50:7.2f}x")
    print(f"{'added at p50 by hop 2 (2 hops - 1 hop)':40} {second:8.3f} {'':8} {second / raw50:7.2f}x")
    print(f"{'mean per hop ((2 hops - local) / 2)':40} {(two - local) / 2:8.3f} {'':8} "
          f"{(two - local) / 2 / raw50:7.2f}x")
    ratio = rps["1 hop"] / rps["local"]
    print(f"throughput 1 hop / local: {ratio:.2f}x")
    worst = max(first, second) / raw50
    print(f"target: each hop adds <= 1.0x raw round trip at p50: {'PASS' if worst <= 1.0 else 'MISS'} "
          f"(hop 1 {first / raw50:.2f}x, hop 2 {second / raw50:.2f}x)")
    print(f"a hop that only relayed a forward's {FORWARD_EVENTS} events would add at least one {STREAM}: "
          f"{lat[STREAM][0] / raw50:.2f}x")
    floor_hop = lat[FLOOR_HOP][0] - lat[FLOOR_LOCAL][0]
    print(f"{'relay floor hop (1 hop - local)':40} {floor_hop:8.3f}")
    print(f"target: each hop adds <= {HOP_TARGET}x a relay-floor hop at p50: "
          f"{'met' if max(first, second) <= HOP_TARGET * floor_hop else 'NOT met'} "
          f"(hop 1 {first / floor_hop:.2f}x, hop 2 {second / floor_hop:.2f}x)")


if __name__ == "__main__":
    main()
