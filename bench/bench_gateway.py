"""What the gateway adds to an intent: a no-op chat completion over HTTP (non-streaming and streaming SSE)
against the same chat intent over gRPC straight to the realm, and a raw uvicorn echo endpoint, in one run.

The floor of the gateway's own work is one HTTP round trip: the raw echo (a Starlette route under uvicorn
in its own process, called with the same HTTP client) measures it. The target: the gateway adds at most
1.5x the raw echo's p50 on top of the gRPC intent's p50. Latency: sequential calls, the subjects interleaved
call by call; throughput: alternating rounds at a fixed concurrency. Figures are ratios to baselines of the
same run, since the machines are shared and noisy.

Run: `make bench` (or `python bench/bench_gateway.py --help`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Awaitable, Callable

import grpc
import httpx2 as httpx
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import (  # noqa: E402
    add_load_arguments,
    alternating_throughput,
    figures,
    latency,
    spawn,
    start_realm_with_echo_worker,
    warm_up,
)

HTTP_ECHO = r"""
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(1024)
print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", flush=True)
server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/echo", echo, methods=["POST"])]),
                                       log_level="warning", access_log=False))
server.run(sockets=[sock])
"""

ECHO = "raw uvicorn HTTP echo"
INTENT = "chat intent over gRPC (realm + echo worker)"
COMPLETION = "chat completion via gateway"
STREAMED = "chat completion via gateway, streamed"
BODY = {"model": "", "messages": [{"role": "user", "content": "ping"}]}


async def run(args: argparse.Namespace, echo_url: str, realm_addr: str,
              gateway_url: str) -> dict[str, dict[str, float]]:
    limits = httpx.Limits(max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2)
    async with grpc.aio.insecure_channel(realm_addr) as channel, \
            httpx.AsyncClient(limits=limits, timeout=60) as http:
        stub = intents_pb2_grpc.IntentsStub(channel)
        request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
            chat=intent_pb2.ChatRequest(prompt="ping")))
        payload = json.dumps(BODY).encode()

        async def echo() -> None:
            response = await http.post(f"{echo_url}/echo", content=payload)
            response.raise_for_status()

        async def intent() -> None:
            async for event in stub.Submit(request):
                if event.HasField("failed"):
                    raise RuntimeError(event.failed.message)

        async def completion() -> None:
            response = await http.post(f"{gateway_url}/v1/chat/completions", json=BODY)
            response.raise_for_status()
            assert response.json()["choices"][0]["message"]["content"] == "echo: ping"

        async def streamed() -> None:
            async with http.stream("POST", f"{gateway_url}/v1/chat/completions", json={**BODY, "stream": True}) \
                    as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if line == "data: [DONE]":
                        return
            raise RuntimeError("the stream ended without [DONE]")

        calls: dict[str, Callable[[], Awaitable[None]]] = {ECHO: echo, INTENT: intent, COMPLETION: completion,
                                                           STREAMED: streamed}
        await warm_up(calls, args.warmup)
        lat = await latency(calls, args.requests)
        rps = await alternating_throughput(calls, args)
    return figures(lat, rps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_load_arguments(parser, requests=500, total=2000, warmup=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        procs: list[subprocess.Popen] = []
        try:
            echo, echo_addr = spawn(["-c", HTTP_ECHO], root / "echo.log")
            procs.append(echo)
            started, realm_addr = start_realm_with_echo_worker(root, args.concurrency * 2,
                                                               max(100, args.concurrency * 4))
            procs += started
            gateway, gateway_url = spawn(["-m", "mtor_server.cli", "gateway", "--realm", realm_addr, "--listen",
                                          "127.0.0.1:0", "--data-dir", str(root / "gateway")],
                                         root / "gateway.log", pattern=r"mtor gateway on (http://\S+)")
            procs.append(gateway)
            results = asyncio.run(run(args, f"http://{echo_addr}", realm_addr, gateway_url))
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()

    print(f"loopback, {os.cpu_count()} CPUs; latency over {args.requests} sequential calls each (interleaved); "
          f"throughput: median of {args.rounds} alternating rounds, {args.total // args.rounds} calls each "
          f"at concurrency {args.concurrency}")
    print(f"{'':44} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}")
    for name, r in results.items():
        print(f"{name:44} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r['rps']:9.0f}")
    echo, intent = results[ECHO], results[INTENT]
    for name in (COMPLETION, STREAMED):
        added = results[name]["p50_ms"] - intent["p50_ms"]
        ratio = added / echo["p50_ms"]
        print(f"{name}: adds {added:.3f} ms p50 to the gRPC intent = {ratio:.2f}x the raw echo's p50 "
              f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}); throughput "
              f"{results[name]['rps'] / intent['rps']:.2f}x the gRPC intent's")


if __name__ == "__main__":
    main()
