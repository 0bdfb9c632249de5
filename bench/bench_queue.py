"""A deep queue: 100,000 intents waiting in one realm (queue.max_depth raised for the run).

With no worker connected, no-op chat intents are submitted 64 at a time, each caller leaving after its
`accepted` (the intent stays queued). Measured: the realm's cost per submitted intent (CPU seconds and wall
time) when the queue is shallow and when it holds 100,000; the realm's RSS with 100,000 queued; and the
realm's CPU per intent served when an echo worker drains a shallow queue and the first intents of the deep
one. Ratios of deep to shallow in the same run.

Run: `make bench` (or `python bench/bench_queue.py --help`).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc, realm_pb2, realm_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import BENCH_ENV, cpu_s, spawn  # noqa: E402
from bench_federation import REALM_ENV  # noqa: E402
from bench_scale import rss_kb  # noqa: E402

TARGETS = {"rss_mb": 200.0, "cost_ratio": 2.0}
"""Issue 16's: realm RSS with 100,000 queued at most; submit and dispatch cost per intent at 100,000 queued
over the cost at a shallow queue, at most."""


async def submit(address: str, n: int, concurrency: int = 64) -> None:
    """`n` intents, each caller gone after its `accepted`."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(
            prompt="ping")))
        left = n

        async def lane() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                call = stub.Submit(request)
                event = await call.read()
                if not event.HasField("accepted"):
                    raise RuntimeError(f"not accepted: {event}")
                call.cancel()

        await asyncio.gather(*(lane() for _ in range(concurrency)))


def depth(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        kinds = realm_pb2_grpc.RealmInfoStub(channel).Describe(realm_pb2.DescribeRequest(), timeout=10).kinds
        return next((k.queue_depth for k in kinds if k.kind == intent_pb2.KIND_CHAT), 0)


def running(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        return realm_pb2_grpc.RealmInfoStub(channel).Describe(realm_pb2.DescribeRequest(), timeout=10).running


def measured_submit(realm: subprocess.Popen, address: str, n: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the realm per intent, submitting `n`."""
    c0, t0 = cpu_s(realm.pid), time.perf_counter()
    asyncio.run(submit(address, n))
    return (cpu_s(realm.pid) - c0) / n, (time.perf_counter() - t0) / n


def measured_drain(realm: subprocess.Popen, address: str, root: Path, n: int, name: str) -> float:
    """CPU seconds of the realm per intent served while an echo worker serves `n` of the queue; the worker is
    stopped after (what it was running goes back to the queue's front)."""
    start = depth(address)
    worker = subprocess.Popen([sys.executable, "-m", "mtor_server.cli", "worker", "--realm", address, "--name", name,
                               "--backend", "echo", "--max-concurrency", "64", "--data-dir", str(root / name)],
                              stdout=(root / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
                              env={**os.environ, **BENCH_ENV})
    try:
        while running(address) == 0:  # joined and started
            time.sleep(0.01)
        c0 = cpu_s(realm.pid)
        while start - depth(address) - running(address) < n:
            time.sleep(0.05)
        return (cpu_s(realm.pid) - c0) / n
    finally:
        worker.kill()
        worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deep", type=int, default=100_000, help="intents queued in the deep phase")
    parser.add_argument("--shallow", type=int, default=100, help="intents queued in the shallow phase")
    parser.add_argument("--sample", type=int, default=2000, help="intents submitted (and served) per measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        realm, address = spawn(["-m", "mtor_server.cli", "realm", "--listen", "127.0.0.1:0", "--data-dir",
                                str(root / "realm")], root / "realm.log",
                               {**REALM_ENV, "MTOR_QUEUE_MAX_DEPTH": str(args.deep + 2 * args.sample),
                                "MTOR_QUEUE_MAX_WAIT_S": "3600"})
        try:
            asyncio.run(submit(address, args.shallow))
            base_kb = rss_kb(realm.pid)
            shallow_submit = measured_submit(realm, address, args.sample)
            shallow_drain = measured_drain(realm, address, root, args.sample, "shallow")
            left = depth(address)
            if left < args.deep:
                asyncio.run(submit(address, args.deep - left - args.sample))
            deep_submit = measured_submit(realm, address, args.sample)
            queued = depth(address)
            deep_kb = rss_kb(realm.pid)
            deep_drain = measured_drain(realm, address, root, args.sample, "deep")
        finally:
            realm.kill()
            realm.wait()
    print(f"loopback, {os.cpu_count()} CPUs; no-op chat intents, submitted 64 at a time (each caller leaving after "
          f"`accepted`), {args.sample} per measure")
    print(f"{'':34} {'shallow':>10} {'deep':>10} {'deep / shallow':>15}")
    print(f"{'queued when measured':34} {args.shallow:>10} {queued:>10}")
    rows = [("submit: realm CPU ms per intent", shallow_submit[0], deep_submit[0]),
            ("submit: wall ms per intent", shallow_submit[1], deep_submit[1]),
            ("dispatch: realm CPU ms per intent", shallow_drain, deep_drain)]
    for label, shallow, deep in rows:
        print(f"{label:34} {shallow * 1e3:10.3f} {deep * 1e3:10.3f} {deep / shallow:14.2f}x")
    rss_mb = deep_kb / 1024
    print(f"realm RSS with {queued} queued: {rss_mb:.0f} MB ({(deep_kb - base_kb) / max(1, queued - args.shallow):.2f} "
          f"KB per queued intent over the shallow realm's {base_kb / 1024:.0f} MB)")
    worst = max(deep / shallow for _, shallow, deep in rows)
    print(f"targets at {queued} queued: RSS <= {TARGETS['rss_mb']:g} MB: "
          f"{'met' if rss_mb <= TARGETS['rss_mb'] else 'NOT met'}; submit and dispatch cost <= "
          f"{TARGETS['cost_ratio']:g}x the shallow queue's: {'met' if worst <= TARGETS['cost_ratio'] else 'NOT met'}")


if __name__ == "__main__":
    main()
