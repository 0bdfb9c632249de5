"""The relay floor: what any realm of MTOR's shape pays in Python, with no storage and no logic.

A bare grpc.aio relay process serves callers a server stream (`Submit`, MTOR's own SubmitRequest and
IntentEvent messages) and a bidi stream (`Connect`, WorkerLink's RealmMessage and WorkerMessage) that a bare
worker process opens. Per call the relay sends the caller `accepted`, sends the worker one assignment, and
forwards each of the worker's updates to the caller as it comes: as many as an echo worker sends for a
no-op chat (a delta per word of "echo: PROMPT", then the result). A relay given `--upstream ADDRESS`
relays to another relay's Submit instead of a worker: one federation hop's floor.

    python bench/relay_floor.py relay [--upstream ADDRESS]   prints "listening on ADDRESS", then
                                                             "worker connected" (without --upstream)
    python bench/relay_floor.py worker ADDRESS
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import AsyncIterator, Callable

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, worker_link_pb2

SUBMIT = "/bench.Relay/Submit"
CONNECT = "/bench.Relay/Connect"
HERE = Path(__file__).resolve()


async def relay(upstream: str | None) -> None:
    to_worker: asyncio.Queue[worker_link_pb2.RealmMessage] = asyncio.Queue()
    waiting: dict[str, asyncio.Queue[worker_link_pb2.AssignmentUpdate]] = {}
    ids = itertools.count()
    forward = None
    if upstream is not None:
        channel = grpc.aio.insecure_channel(upstream)
        forward = channel.unary_stream(SUBMIT, request_serializer=intents_pb2.SubmitRequest.SerializeToString,
                                       response_deserializer=intent_pb2.IntentEvent.FromString)

    async def submit(request: intents_pb2.SubmitRequest,
                     context: grpc.aio.ServicerContext) -> AsyncIterator[intent_pb2.IntentEvent]:
        intent_id = str(next(ids))
        yield intent_pb2.IntentEvent(intent_id=intent_id, seq=1, accepted=intent_pb2.Accepted(intent_id=intent_id))
        if forward is not None:
            async for event in forward(request):
                if event.WhichOneof("event") != "accepted":
                    yield event
            return
        updates = waiting[intent_id] = asyncio.Queue()
        to_worker.put_nowait(worker_link_pb2.RealmMessage(assign=worker_link_pb2.Assignment(
            assignment_id=intent_id, intent_id=intent_id, intent=request.intent)))
        try:
            for seq in itertools.count(2):
                update = await updates.get()
                if update.WhichOneof("update") == "delta":
                    yield intent_pb2.IntentEvent(intent_id=intent_id, seq=seq, delta=update.delta)
                else:
                    yield intent_pb2.IntentEvent(intent_id=intent_id, seq=seq, result=update.result)
                    return
        finally:
            del waiting[intent_id]

    async def connect(messages: AsyncIterator[worker_link_pb2.WorkerMessage],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[worker_link_pb2.RealmMessage]:
        async def read() -> None:
            async for message in messages:
                if (updates := waiting.get(message.update.assignment_id)) is not None:
                    updates.put_nowait(message.update)

        reader = asyncio.create_task(read())
        print("worker connected", flush=True)
        try:
            while True:
                yield await to_worker.get()
        finally:
            reader.cancel()

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Relay", {
        "Submit": grpc.unary_stream_rpc_method_handler(
            submit, request_deserializer=intents_pb2.SubmitRequest.FromString,
            response_serializer=intent_pb2.IntentEvent.SerializeToString),
        "Connect": grpc.stream_stream_rpc_method_handler(
            connect, request_deserializer=worker_link_pb2.WorkerMessage.FromString,
            response_serializer=worker_link_pb2.RealmMessage.SerializeToString)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


async def worker(address: str) -> None:
    """Answer each assignment as the echo worker answers a no-op chat: a delta per word, then the result."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.stream_stream(CONNECT, request_serializer=worker_link_pb2.WorkerMessage.SerializeToString,
                                     response_deserializer=worker_link_pb2.RealmMessage.FromString)()
        async for message in call:
            assignment = message.assign
            text = f"echo: {assignment.intent.chat.prompt}"
            chunks = re.findall(r"\S+\s*", text)
            for chunk in chunks:
                await call.write(worker_link_pb2.WorkerMessage(update=worker_link_pb2.AssignmentUpdate(
                    assignment_id=assignment.assignment_id, delta=intent_pb2.Delta(text=chunk))))
            await call.write(worker_link_pb2.WorkerMessage(update=worker_link_pb2.AssignmentUpdate(
                assignment_id=assignment.assignment_id, result=intent_pb2.IntentResult(
                    text=intent_pb2.TextOutput(text=text, tokens=len(chunks))))))


def start_floor(root: Path, spawn: Callable[..., tuple[subprocess.Popen, str]],
                hops: int = 0) -> tuple[list[subprocess.Popen], str]:
    """A relay with its worker, and `hops` relays in front of it, each forwarding to the one behind; (their
    processes, the front relay's address). `spawn`: bench_core's, which starts a process and waits for its
    address."""
    root.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    back, address = spawn([str(HERE), "relay"], root / "floor-relay.log")
    procs.append(back)
    procs.append(subprocess.Popen([sys.executable, str(HERE), "worker", address],
                                  stdout=(root / "floor-worker.log").open("w"), stderr=subprocess.STDOUT))
    spawn_wait(root / "floor-relay.log", "worker connected")
    for hop in range(hops):
        front, address = spawn([str(HERE), "relay", "--upstream", address], root / f"floor-relay-{hop + 1}.log")
        procs.append(front)
    return procs, address


def spawn_wait(log: Path, text: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        if time.monotonic() > deadline:
            sys.exit(f"{log} never said {text!r}:\n{log.read_text()}")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="role", required=True)
    relay_args = sub.add_parser("relay")
    relay_args.add_argument("--upstream", default=None)
    worker_args = sub.add_parser("worker")
    worker_args.add_argument("address")
    args = parser.parse_args()
    asyncio.run(relay(args.upstream) if args.role == "relay" else worker(args.address))


if __name__ == "__main__":
    main()
