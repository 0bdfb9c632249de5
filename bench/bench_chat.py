"""What the realm costs a real chat: SmolLM2 through realm + llama worker
against llama_cpp called directly in this process, same prompt, same run.

Time to first token and total time, medians over alternating rounds (greedy
decoding, the worker's default repeat penalty and a fixed token budget, so
both produce the same tokens). The
overhead is quoted against the direct call of the same run.

Run: `make bench` (or `python bench/bench_chat.py --help`).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import spawn  # noqa: E402

from mtor_worker import starter  # noqa: E402
from mtor_worker.backends.llama import LlamaSection  # noqa: E402

PROMPT = "Write three sentences about the sea."


def direct(llm, max_tokens: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    first = None
    tokens = 0
    for chunk in llm.create_chat_completion(messages=[{"role": "user", "content": PROMPT}], max_tokens=max_tokens,
                                            temperature=0.0, repeat_penalty=LlamaSection().repeat_penalty,
                                            stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter() - t0
            tokens += 1
    return first or 0.0, time.perf_counter() - t0, tokens


async def through_realm(stub, max_tokens: int) -> tuple[float, float, int]:
    request = intents_pb2.SubmitRequest(intent=intent_pb2.IntentRequest(chat=intent_pb2.ChatRequest(
        prompt=PROMPT, max_tokens=max_tokens, temperature=0.0)))
    t0 = time.perf_counter()
    first = None
    tokens = 0
    async for event in stub.Submit(request):
        if event.HasField("delta"):
            first = first or time.perf_counter() - t0
            tokens += 1
        elif event.HasField("failed"):
            raise RuntimeError(event.failed.message)
    return first or 0.0, time.perf_counter() - t0, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens per answer")
    args = parser.parse_args()

    import llama_cpp

    model = starter.chat_model()
    if model is None:
        sys.exit("the starter chat model is not installed (make install)")
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=2048, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        realm, address = spawn(["-m", "mtor_server.cli", "realm", "--listen", "127.0.0.1:0",
                                "--data-dir", str(root / "realm")], root / "realm.log")
        worker, _ = spawn(["-m", "mtor_server.cli", "worker", "--realm", address, "--name", "bench",
                           "--backend", "llama", "--max-concurrency", "1", "--data-dir", str(root / "w")],
                          root / "worker.log", pattern=r"(connected) to realm")
        try:
            results = asyncio.run(run(args, llm, address))
        finally:
            for proc in (worker, realm):
                proc.kill()
                proc.wait()

    (d_first, d_total, d_tokens), (r_first, r_total, r_tokens) = results
    print(f"SmolLM2-135M chat, {args.max_tokens} tokens max, greedy; medians of {args.rounds} alternating rounds")
    print(f"{'':36} {'first token ms':>15} {'total ms':>10} {'tokens':>7}")
    print(f"{'llama_cpp in process':36} {d_first:15.1f} {d_total:10.1f} {d_tokens:7d}")
    print(f"{'through realm + llama worker':36} {r_first:15.1f} {r_total:10.1f} {r_tokens:7d}")
    overhead = (r_total - d_total) / d_total
    print(f"overhead: first token +{r_first - d_first:.1f} ms; total {overhead:+.1%} "
          f"(target <= 5%: {'met' if overhead <= 0.05 else 'NOT met'})")


async def run(args: argparse.Namespace, llm, address: str) -> list[tuple[float, float, int]]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = intents_pb2_grpc.IntentsStub(channel)
        await through_realm(stub, args.max_tokens)  # warm both paths
        direct(llm, args.max_tokens)
        samples: dict[str, list[tuple[float, float, int]]] = {"direct": [], "realm": []}
        for _ in range(args.rounds):
            samples["direct"].append(await asyncio.to_thread(direct, llm, args.max_tokens))
            samples["realm"].append(await through_realm(stub, args.max_tokens))
    return [(statistics.median(s[0] for s in runs) * 1e3, statistics.median(s[1] for s in runs) * 1e3,
             int(statistics.median(s[2] for s in runs))) for runs in samples.values()]


if __name__ == "__main__":
    main()
