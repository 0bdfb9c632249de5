"""The upstream backend's cost: a no-op chat through a worker that forwards to an OpenAI-compatible server,
against the same chat on the echo worker and against the server called directly, in one run.

The OpenAI-compatible server is a Starlette app under uvicorn in its own process that streams the echo
worker's answer ("echo: " and "ping" as two chunks, then usage and [DONE]) for any chat completion. Its
direct call (httpx2, streamed, on kept-alive connections) is the floor of the HTTP work the upstream
backend adds; the echo worker's intent is the floor of the rest. Latency: sequential calls, the subjects
interleaved call by call; throughput: alternating rounds at a fixed concurrency, with each worker's CPU
per request. Figures are ratios to baselines of the same run, since the machines are shared and noisy.

Run: `make bench` (or `python bench/bench_upstream.py --help`).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Awaitable, Callable

import grpc
import httpx2
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

OPENAI_ECHO = r"""
import json, socket, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
def frame(chunk): return f"data: {json.dumps(chunk)}\n\n".encode()
def delta(text, reason=None):
    return {"object": "chat.completion.chunk", "model": "echo",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": reason}]}
async def models(request):
    return JSONResponse({"object": "list", "data": [{"id": "echo", "object": "model"}]})
async def completions(request):
    body = await request.json()
    prompt = body["messages"][-1]["content"]
    chunks = [delta("echo: "), delta(prompt, "stop"),
              {"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 1}}]
    async def events():
        for chunk in chunks:
            yield frame(chunk)
        yield b"data: [DONE]\n\n"
    return StreamingResponse(events(), media_type="text/event-stream")
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(1024)
print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", flush=True)
app = Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", completions, methods=["POST"])])
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
"""

DIRECT = "OpenAI echo server, called directly (SSE)"
ECHO = "chat intent, echo worker"
UPSTREAM = "chat intent, upstream worker -> OpenAI echo"
BODY = {"model": "echo", "messages": [{"role": "user", "content": "ping"}], "stream": True}


async def run(args: argparse.Namespace, server_url: str, echo_realm: str, upstream_realm: str,
              pids: dict[str, int]) -> dict[str, dict[str, float]]:
    limits = httpx2.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with grpc.aio.insecure_channel(echo_realm) as echo_channel, \
            grpc.aio.insecure_channel(upstream_realm) as upstream_channel, \
            httpx2.AsyncClient(base_url=server_url, limits=limits, timeout=60) as http:
        request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(
            chat=intent_pb2.ChatRequest(prompt="ping")))

        def intent(channel: grpc.aio.Channel) -> Callable[[], Awaitable[None]]:
            stub = intents_pb2_grpc.IntentsStub(channel)

            async def call() -> None:
                async for event in stub.Submit(request):
                    if event.HasField("failed"):
                        raise RuntimeError(event.failed.message)
                    if event.HasField("result") and event.result.text.text != "echo: ping":
                        raise RuntimeError(f"unexpected answer {event.result.text.text!r}")
            return call

        async def direct() -> None:
            async with http.stream("POST", "/v1/chat/completions", json=BODY) as response:
                response.raise_for_status()
                async for sse in httpx2.EventSource(response):
                    if sse.data == "[DONE]":
                        return
            raise RuntimeError("the stream ended without [DONE]")

        calls: dict[str, Callable[[], Awaitable[None]]] = {DIRECT: direct, ECHO: intent(echo_channel),
                                                           UPSTREAM: intent(upstream_channel)}
        await warm_up(calls, args.warmup)
        lat = await latency(calls, args.requests)
        cpu: dict[str, dict[str, float]] = {}
        rps = await alternating_throughput(calls, args, cpu, pids)
    return figures(lat, rps, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_load_arguments(parser, requests=500, total=2000, warmup=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        procs: list[subprocess.Popen] = []
        try:
            server, server_addr = spawn(["-c", OPENAI_ECHO], root / "openai-echo.log")
            procs.append(server)
            depth = max(100, args.concurrency * 2)
            echo_procs, echo_realm = start_realm_with_echo_worker(root, args.concurrency, depth)
            procs += echo_procs
            upstream_procs, upstream_realm = start_realm_with_echo_worker(
                root, args.concurrency, depth, backend="upstream",
                worker_env={"MTOR_UPSTREAM_URL": f"http://{server_addr}/v1"})
            procs += upstream_procs
            pids = {ECHO: echo_procs[1].pid, UPSTREAM: upstream_procs[1].pid}  # the workers' CPU
            results = asyncio.run(run(args, f"http://{server_addr}", echo_realm, upstream_realm, pids))
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()

    print(f"loopback, {os.cpu_count()} CPUs; latency over {args.requests} sequential calls each (interleaved); "
          f"throughput: median of {args.rounds} alternating rounds, {args.total // args.rounds} calls each "
          f"at concurrency {args.concurrency}")
    print(f"{'':44} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'worker CPU ms/req':>18}")
    for name, r in results.items():
        cpu = f"{r['cpu_s_per_call'] * 1e3:18.3f}" if "cpu_s_per_call" in r else ""
        print(f"{name:44} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r['rps']:9.0f} {cpu}")
    direct, echo, upstream = results[DIRECT], results[ECHO], results[UPSTREAM]
    added = upstream["p50_ms"] - echo["p50_ms"]
    print(f"upstream intent: {upstream['p50_ms'] / echo['p50_ms']:.2f}x the echo worker's p50 (adds {added:.3f} ms "
          f"= {added / direct['p50_ms']:.2f}x the direct call's p50), {upstream['rps'] / echo['rps']:.2f}x its "
          f"throughput; worker CPU per request {upstream['cpu_s_per_call'] / echo['cpu_s_per_call']:.2f}x the echo "
          f"worker's")


if __name__ == "__main__":
    main()
