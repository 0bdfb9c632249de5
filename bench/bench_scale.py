"""One realm and many workers: dispatch latency, memory and heartbeat CPU at 10, 1,000 and 10,000 connected
workers, and how fast a frozen worker is taken out with them.

The fleet is simulated (fleet.py: many WorkerLink streams from a few processes, each on a connection of its
own as real workers are, echo semantics, heartbeats at the realm's interval, the realm's keepalive pings
answered by gRPC), beside one real echo worker process, the one that is frozen (SIGSTOP) at the
end. Per fleet size: the realm's RSS over its RSS with the real worker only, divided by the workers added
(memory per connected idle worker); the realm's CPU over some seconds with every worker idle and
heartbeating and pinged (as a fraction of one core); then the p50 and p99 of sequential no-op chat intents
(dispatch among that many workers). Ratios to the 10-worker figures of the same run.

Run: `make bench` (or `python bench/bench_scale.py --help`).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc
from mtor_client.admin import AdminClient

from mtor_common.config import HealthSection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import BENCH_ENV, cpu_s, pct, spawn  # noqa: E402
from bench_federation import REALM_ENV, SYSOP  # noqa: E402

HERE = Path(__file__).resolve().parent
HEALTH = HealthSection()
TARGETS = {"dispatch_p50": 2.0, "kb_per_worker": 30.0, "heartbeat_cores": 0.25, "detect_s": 2.0}
"""Issue 16's scale targets: p50 at the largest fleet over p50 at 10 at most; KB of realm memory per idle
worker; cores the realm spends on idle workers' heartbeats; seconds to take out a frozen worker."""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def connected(address: str) -> int:
    with AdminClient(address, token=SYSOP) as admin:
        return len(admin.workers())


def listed(address: str, name: str) -> bool:
    with AdminClient(address, token=SYSOP) as admin:
        return any(w.name == name for w in admin.workers())


def out_at(log: Path, name: str) -> float:
    """When the realm's log says the worker went out (its own clock, no polling in the figure)."""
    m = re.search(rf"^(\S+ \S+),(\d+) WARNING mtor\.realm: worker {name} out: ", log.read_text(), re.M)
    if m is None:
        sys.exit(f"the realm's log does not say that {name} went out")
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000


def losses(log: Path) -> dict[str, int]:
    """The realm's "worker X out: why" lines so far, counted by why: the fleet must not churn while measured."""
    out: dict[str, int] = {}
    for why in re.findall(r"WARNING mtor\.realm: worker \S+ out: (.*)", log.read_text(errors="replace")):
        out[why] = out.get(why, 0) + 1
    return out


def wait_for(what: str, test, timeout_s: float) -> float:
    t0 = time.monotonic()
    while not test():
        if time.monotonic() - t0 > timeout_s:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - t0


async def intent_latency(address: str, n: int) -> list[float]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(
            prompt="ping")))
        out = []
        for _ in range(n + n // 5):
            t0 = time.perf_counter()
            async for event in stub.Submit(request):
                if event.HasField("failed"):
                    raise RuntimeError(event.failed.message)
            out.append(time.perf_counter() - t0)
        return out[n // 5:]


def start_fleet(root: Path, address: str, workers: int, processes: int, per_connection: int) -> list[subprocess.Popen]:
    procs = []
    for p in range(processes):
        count = workers // processes + (1 if p < workers % processes else 0)
        log = root / f"fleet-{workers}-{p}.log"
        proc, _ = spawn([str(HERE / "fleet.py"), address, "--workers", str(count), "--prefix", f"f{workers}-{p}",
                         "--join-token", BENCH_ENV["MTOR_JOIN_TOKEN"], "--per-connection", str(per_connection)],
                        log, pattern=r"(fleet up)", timeout_s=600)
        procs.append(proc)
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1000,10000", help="fleet sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=300, help="sequential intents per size")
    parser.add_argument("--idle-s", type=float, default=5.0, help="seconds of idle heartbeats measured per size")
    parser.add_argument("--per-process", type=int, default=2500, help="simulated workers per fleet process")
    parser.add_argument("--heartbeat-s", type=float, default=HEALTH.heartbeat_interval_s,
                        help=f"the realm's health.heartbeat_interval_s (its default: {HEALTH.heartbeat_interval_s:g})")
    parser.add_argument("--keepalive-s", type=float, default=HEALTH.keepalive_s,
                        help=f"the realm's health.keepalive_s (its default: {HEALTH.keepalive_s:g})")
    parser.add_argument("--per-connection", type=int, default=1,
                        help="simulated workers per HTTP/2 connection (real workers have one each)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        realm, address = spawn(["-m", "mtor_server.cli", "realm", "--listen", "127.0.0.1:0", "--data-dir",
                                str(root / "realm")], root / "realm.log",
                               {**REALM_ENV, "MTOR_HEALTH_HEARTBEAT_INTERVAL_S": str(args.heartbeat_s),
                                "MTOR_HEALTH_KEEPALIVE_S": str(args.keepalive_s)})
        probe = subprocess.Popen(
            [sys.executable, "-m", "mtor_server.cli", "worker", "--realm", address, "--name", "probe",
             "--backend", "echo", "--data-dir", str(root / "probe")],
            stdout=(root / "probe.log").open("w"), stderr=subprocess.STDOUT, env={**os.environ, **BENCH_ENV})
        procs = [realm, probe]
        try:
            wait_for("the probe worker", lambda: connected(address) == 1, 60)
            time.sleep(1)
            base_kb = rss_kb(realm.pid)
            for size in sizes:
                fleet = start_fleet(root, address, size, max(1, -(-size // args.per_process)), args.per_connection)
                wait_for(f"{size} workers", lambda: connected(address) == size + 1, 300)
                time.sleep(2)
                before = losses(root / "realm.log")
                kb = rss_kb(realm.pid)
                c0, t0 = cpu_s(realm.pid), time.monotonic()
                time.sleep(args.idle_s)
                cores = (cpu_s(realm.pid) - c0) / (time.monotonic() - t0)
                lat = asyncio.run(intent_latency(address, args.requests))
                after = losses(root / "realm.log")
                dropped = {why: n - before.get(why, 0) for why, n in after.items() if n > before.get(why, 0)}
                rows.append((size, (kb - base_kb) / size, cores, pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, dropped))
                if size == sizes[-1]:
                    stopped_at = time.time()
                    probe.send_signal(signal.SIGSTOP)  # frozen: its connection stays open, it says nothing
                    wait_for("the frozen worker taken out", lambda: not listed(address, "probe"), 30)
                    detect = out_at(root / "realm.log", "probe") - stopped_at
                    probe.send_signal(signal.SIGCONT)
                for proc in fleet:
                    proc.kill()
                    proc.wait()
                wait_for("the fleet gone", lambda: connected(address) <= 1, 120)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    print(f"loopback, {os.cpu_count()} CPUs; fleet simulated by bench/fleet.py, {args.per_connection} worker(s) "
          f"per connection; heartbeats every {args.heartbeat_s:g} s, keepalive pings every {args.keepalive_s:g} s "
          f"(timeout {HEALTH.keepalive_timeout_s:g} s); {args.requests} sequential no-op chat intents per size")
    ratio = f"p50 / p50 at {sizes[0]}"
    print(f"{'workers':>8} {'KB/worker':>10} {'idle CPU':>9} {'p50 ms':>8} {'p99 ms':>8} {ratio:>16} {'dropped':>8}")
    for size, kb, cores, p50, p99, dropped in rows:
        print(f"{size:8} {kb:10.1f} {cores:8.2f}c {p50:8.3f} {p99:8.3f} {p50 / rows[0][3]:15.2f}x "
              f"{sum(dropped.values()):8}" + (f"  ({'; '.join(f'{n}: {why}' for why, n in dropped.items())})"
                                              if dropped else ""))
    print("dropped: fleet workers the realm took out while idle CPU and dispatch were measured (0: no churn)")
    largest = rows[-1]
    detected = "met" if detect <= TARGETS["detect_s"] else "NOT met"
    print(f"frozen worker taken out {detect:.2f} s after SIGSTOP, with {largest[0]} others connected")
    print(f"targets at {largest[0]} workers: dispatch p50 <= {TARGETS['dispatch_p50']}x the p50 at {sizes[0]}: "
          f"{'met' if largest[3] / rows[0][3] <= TARGETS['dispatch_p50'] else 'NOT met'}; memory <= "
          f"{TARGETS['kb_per_worker']:g} KB per idle worker: "
          f"{'met' if largest[1] <= TARGETS['kb_per_worker'] else 'NOT met'}; idle heartbeats under "
          f"{TARGETS['heartbeat_cores']} core: {'met' if largest[2] < TARGETS['heartbeat_cores'] else 'NOT met'}; "
          f"frozen worker out within {TARGETS['detect_s']:g} s: {detected}")


if __name__ == "__main__":
    main()
