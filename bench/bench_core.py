"""Realm overhead against the floor of its own shape, measured in one run.

Subjects, each in processes of its own on loopback, called with grpc.aio from this process:
- raw: a grpc.aio unary echo server (one round trip, for scale);
- relay floor: a bare grpc.aio relay and a bare worker (relay_floor.py): accepted, one assignment over a
  bidi stream, the echo worker's updates forwarded one by one; no storage, no logic;
- intent: a no-op chat intent through a realm process and an echo worker process (Submit until the result).
First one at a time (latency p50/p99, the subjects interleaved call by call), then 64 at a time
(throughput, in alternating rounds, with the CPU seconds the realm and the relay spent per 10,000 intents).
Figures are quoted as ratios to the floor of the same run, since the machines are shared and noisy.

Run: `make bench` (or `python bench/bench_core.py --help`).
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
from typing import Awaitable, Callable

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc, realm_pb2, realm_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import relay_floor  # noqa: E402

ECHO_SERVER = r"""
import asyncio, sys, grpc
async def main():
    server = grpc.aio.server()
    async def echo(request, context):
        return request
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()
asyncio.run(main())
"""


RAW = "raw grpc.aio unary echo"
FLOOR = "relay floor (bare relay + bare worker)"
INTENT = "no-op chat intent (realm + echo worker)"
TARGETS = {"p50": 1.25, "p99": 1.5, "throughput": 0.85}
"""Issue 16's targets, as ratios of the intent to the relay floor: p50 and p99 at most, throughput at least."""


# a join token the realm takes on its first start and the worker presents; metrics on a free port
BENCH_ENV = {"MTOR_JOIN_TOKEN": "mtor_bench-join-token", "MTOR_METRICS_LISTEN": "127.0.0.1:0"}


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None,
          pattern: str = r"listening on (\S+)", timeout_s: float = 60) -> tuple[subprocess.Popen, str]:
    """Start a Python process and wait until its log matches `pattern`; returns it and the match."""
    handle = log.open("w")
    proc = subprocess.Popen([sys.executable, *args], stdout=handle, stderr=subprocess.STDOUT,
                            env={**os.environ, **BENCH_ENV, **(env or {})})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        m = re.search(pattern, log.read_text())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"{args} did not start:\n{log.read_text()}")


async def latency(calls: dict[str, Callable[[], Awaitable[None]]], n: int) -> dict[str, list[float]]:
    """Sequential calls, the subjects interleaved so that noise hits them alike."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        for name, call in calls.items():
            t0 = time.perf_counter()
            await call()
            out[name].append(time.perf_counter() - t0)
    return out


async def throughput(call: Callable[[], Awaitable[None]], total: int, concurrency: int) -> float:
    remaining = total

    async def lane() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return total / (time.perf_counter() - t0)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def add_load_arguments(parser: argparse.ArgumentParser, *, requests: int, total: int, warmup: int) -> None:
    """The options of a latency-and-throughput bench (bench_core, bench_gateway)."""
    parser.add_argument("--requests", type=int, default=requests, help="sequential calls for latency, each")
    parser.add_argument("--total", type=int, default=total, help="calls for throughput, each")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight for throughput")
    parser.add_argument("--warmup", type=int, default=warmup, help="calls before measuring, each")
    parser.add_argument("--rounds", type=int, default=5, help="alternating throughput rounds")


async def warm_up(calls: dict[str, Callable[[], Awaitable[None]]], n: int) -> None:
    for call in calls.values():
        for _ in range(n):
            await call()


async def alternating_throughput(calls: dict[str, Callable[[], Awaitable[None]]], args: argparse.Namespace,
                                 cpu: dict[str, dict[str, float]] | None = None,
                                 pids: dict[str, int] | None = None) -> dict[str, float]:
    """Req/s of each subject: the median of `args.rounds` rounds, the subjects alternating round by round.
    With `pids` (subject -> the process whose CPU counts), `cpu` gets each one's CPU seconds per call."""
    rounds: dict[str, list[float]] = {name: [] for name in calls}
    used: dict[str, float] = dict.fromkeys(pids or (), 0.0)
    per_round = args.total // args.rounds
    for _ in range(args.rounds):
        for name, call in calls.items():
            pid = (pids or {}).get(name)
            before = cpu_s(pid) if pid else 0.0
            rounds[name].append(await throughput(call, per_round, args.concurrency))
            if pid:
                used[name] += cpu_s(pid) - before
    if cpu is not None:
        cpu.update({name: {"cpu_s_per_call": seconds / (per_round * args.rounds)} for name, seconds in used.items()})
    return {name: statistics.median(r) for name, r in rounds.items()}


def figures(lat: dict[str, list[float]], rps: dict[str, float],
            cpu: dict[str, dict[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """Each subject's p50, p99 and req/s, with its CPU per call where `cpu` (alternating_throughput's) has it."""
    return {name: {"p50_ms": pct(lat[name], 50) * 1e3, "p99_ms": pct(lat[name], 99) * 1e3, "rps": rps[name],
                   **(cpu or {}).get(name, {})}
            for name in lat}


def start_realm_with_echo_worker(root: Path, slots: int, queue_depth: int, backend: str = "echo",
                                 worker_env: dict[str, str] | None = None) -> tuple[list[subprocess.Popen], str]:
    """A realm and a worker (echo, or `backend` with its settings in `worker_env`) with `slots` slots, once the
    worker serves; (their processes, the realm's address). Their files go in `root`/`backend`."""
    root = root / backend
    root.mkdir(parents=True, exist_ok=True)
    realm, realm_addr = spawn(["-m", "mtor_server.cli", "realm", "--listen", "127.0.0.1:0",
                               "--data-dir", str(root / "realm")], root / "realm.log",
                              {"MTOR_QUEUE_MAX_DEPTH": str(queue_depth)})
    worker = subprocess.Popen(
        [sys.executable, "-m", "mtor_server.cli", "worker", "--realm", realm_addr, "--name", "bench",
         "--backend", backend, "--max-concurrency", str(slots), "--data-dir", str(root / "w")],
        stdout=(root / "worker.log").open("w"), stderr=subprocess.STDOUT,
        env={**os.environ, **BENCH_ENV, **(worker_env or {})})
    with grpc.insecure_channel(realm_addr) as channel:
        info = realm_pb2_grpc.RealmInfoStub(channel)
        for _ in range(200):
            if info.Describe(realm_pb2.DescribeRequest(), timeout=2).kinds:
                break
            time.sleep(0.05)
        else:
            sys.exit(f"the {backend} worker did not join:\n{(root / 'worker.log').read_text()}")
    return [realm, worker], realm_addr


async def run(args: argparse.Namespace, echo_addr: str, floor_addr: str, realm_addr: str,
              pids: dict[str, int]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    async with grpc.aio.insecure_channel(echo_addr) as echo_channel, \
            grpc.aio.insecure_channel(floor_addr) as floor_channel, \
            grpc.aio.insecure_channel(realm_addr) as realm_channel:
        echo = echo_channel.unary_unary("/bench.Echo/Echo")
        payload = b"x" * 16
        stub = intents_pb2_grpc.IntentsStub(realm_channel)
        floor_submit = floor_channel.unary_stream(
            relay_floor.SUBMIT, request_serializer=intents_pb2.SubmitRequest.SerializeToString,
            response_deserializer=intent_pb2.IntentEvent.FromString)
        request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
            chat=intent_pb2.ChatRequest(prompt="ping")))

        async def raw() -> None:
            await echo(payload)

        async def floor() -> None:
            async for event in floor_submit(request):
                if event.HasField("result"):
                    return

        timeline: dict[str, list[float]] = {}

        async def intent() -> None:
            t0 = time.perf_counter()
            seen = {}
            async for event in stub.Submit(request):
                if event.HasField("failed"):
                    raise RuntimeError(event.failed.message)
                seen.setdefault(event.WhichOneof("event"), time.perf_counter() - t0)
            for name, at in seen.items():
                timeline.setdefault(name, []).append(at)

        calls = {RAW: raw, FLOOR: floor, INTENT: intent}
        await warm_up(calls, args.warmup)
        timeline.clear()
        lat = await latency(calls, args.requests)
        stages = {name: statistics.median(times) * 1e3 for name, times in timeline.items()}
        cpu: dict[str, dict[str, float]] = {}
        rps = await alternating_throughput(calls, args, cpu, pids)
    return figures(lat, rps, cpu), stages


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_load_arguments(parser, requests=1000, total=4000, warmup=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        procs = []
        try:
            echo, echo_addr = spawn(["-c", ECHO_SERVER], root / "echo.log")
            procs.append(echo)
            floor_procs, floor_addr = relay_floor.start_floor(root, spawn)
            procs += floor_procs
            started, realm_addr = start_realm_with_echo_worker(root, args.concurrency, max(100, args.concurrency * 2))
            procs += started
            pids = {FLOOR: floor_procs[0].pid, INTENT: started[0].pid}
            results, stages = asyncio.run(run(args, echo_addr, floor_addr, realm_addr, pids))
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()

    floor, intent = results[FLOOR], results[INTENT]
    print(f"loopback, {os.cpu_count()} CPUs; latency over {args.requests} sequential calls each (interleaved); "
          f"throughput: median of {args.rounds} alternating rounds, {args.total // args.rounds} calls each "
          f"at concurrency {args.concurrency}")
    print(f"{'':44} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'CPU s/10k':>10}")
    for name, r in results.items():
        cpu = f"{r['cpu_s_per_call'] * 1e4:10.2f}" if "cpu_s_per_call" in r else f"{'':10}"
        print(f"{name:44} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r['rps']:9.0f} {cpu}")
    p50 = intent["p50_ms"] / floor["p50_ms"]
    p99 = intent["p99_ms"] / floor["p99_ms"]
    rps = intent["rps"] / floor["rps"]
    print(f"{'ratio intent / relay floor':44} {p50:7.2f}x {p99:7.2f}x {rps:8.2f}x "
          f"{intent['cpu_s_per_call'] / floor['cpu_s_per_call']:9.2f}x")
    raw = results[RAW]
    print(f"{'ratio relay floor / raw':44} {floor['p50_ms'] / raw['p50_ms']:7.2f}x "
          f"{floor['p99_ms'] / raw['p99_ms']:7.2f}x {floor['rps'] / raw['rps']:8.2f}x")
    print(f"realm CPU per 10,000 no-op intents: {intent['cpu_s_per_call'] * 1e4:.2f} s (the relay floor's: "
          f"{floor['cpu_s_per_call'] * 1e4:.2f} s)")
    print("intent timeline, median ms after Submit: " + ", ".join(
        f"{name} {ms:.3f}" for name, ms in sorted(stages.items(), key=lambda item: item[1])))
    print(f"target p50 <= {TARGETS['p50']}x the floor's: {verdict(p50 <= TARGETS['p50'])}; "
          f"p99 <= {TARGETS['p99']}x: {verdict(p99 <= TARGETS['p99'])}; "
          f"throughput >= {TARGETS['throughput']}x: {verdict(rps >= TARGETS['throughput'])}")


if __name__ == "__main__":
    main()
