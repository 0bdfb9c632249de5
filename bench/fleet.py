"""A simulated fleet: many WorkerLink streams from one process, each a worker with echo semantics.

Each worker says hello (chat, one slot, its own name), heartbeats as its welcome says (with a random phase,
as real workers that started at different times), and answers each assignment as the echo worker answers a
no-op chat: a delta per word of "echo: PROMPT", then the result (one `updates` message when the realm
takes batches). Each worker has a connection of its own, as real workers have (the realm's keepalive pings
go per connection), unless --per-connection puts several streams on one, as HTTP/2 allows.

    python bench/fleet.py REALM_ADDRESS --workers N [--prefix NAME] [--join-token TOKEN] [--per-connection K]

prints "fleet up: N workers" once every worker has its welcome, and runs until killed.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
from typing import AsyncIterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, worker_link_pb2, worker_link_pb2_grpc

PROTOCOL = 1


def _answer(assignment: worker_link_pb2.Assignment) -> list[worker_link_pb2.AssignmentUpdate]:
    text = f"echo: {assignment.intent.chat.prompt}"
    chunks = re.findall(r"\S+\s*", text)
    aid = assignment.assignment_id
    return [*(worker_link_pb2.AssignmentUpdate(assignment_id=aid, delta=intent_pb2.Delta(text=c)) for c in chunks),
            worker_link_pb2.AssignmentUpdate(assignment_id=aid, result=intent_pb2.IntentResult(
                text=intent_pb2.TextOutput(text=text, tokens=len(chunks))))]


async def one_worker(channel: grpc.aio.Channel, name: str, metadata: tuple, up: asyncio.Event,
                     welcomed: list[int], total: int) -> None:
    """One worker, connecting again (as a real one does) whenever its stream ends."""
    counted = [False]  # its first welcome counts towards "fleet up"
    while True:
        try:
            await _session(channel, name, metadata, up, welcomed, total, counted)
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(random.uniform(0.5, 1.5))


async def _session(channel: grpc.aio.Channel, name: str, metadata: tuple, up: asyncio.Event,
                   welcomed: list[int], total: int, counted: list[bool]) -> None:
    outbox: asyncio.Queue[worker_link_pb2.WorkerMessage] = asyncio.Queue()
    outbox.put_nowait(worker_link_pb2.WorkerMessage(hello=worker_link_pb2.WorkerHello(
        name=name, capabilities=[worker_link_pb2.Capability(kind=intent_pb2.KIND_CHAT)], max_concurrency=1,
        version="fleet", protocol=PROTOCOL, takes_batches=True)))

    async def messages() -> AsyncIterator[worker_link_pb2.WorkerMessage]:
        while True:
            yield await outbox.get()

    call = worker_link_pb2_grpc.WorkerLinkStub(channel).Connect(messages(), metadata=metadata)
    beating: asyncio.Task[None] | None = None
    batches = False
    try:
        async for message in call:
            which = message.WhichOneof("message")
            if which == "welcome":
                if not counted[0]:
                    counted[0] = True
                    welcomed[0] += 1
                    if welcomed[0] == total:
                        up.set()
                beating = asyncio.create_task(_heartbeats(outbox, message.welcome.heartbeat_interval_s or 1.0))
                batches = message.welcome.takes_batches
            elif which in ("assign", "assigns"):
                assignments = [message.assign] if which == "assign" else list(message.assigns.assignments)
                updates = [u for a in assignments for u in _answer(a)]
                if batches:
                    outbox.put_nowait(worker_link_pb2.WorkerMessage(
                        updates=worker_link_pb2.AssignmentUpdates(updates=updates)))
                else:
                    for update in updates:
                        outbox.put_nowait(worker_link_pb2.WorkerMessage(update=update))
    finally:
        if beating is not None:
            beating.cancel()


async def _heartbeats(outbox: asyncio.Queue[worker_link_pb2.WorkerMessage], interval: float) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    beat = worker_link_pb2.WorkerMessage(heartbeat=worker_link_pb2.Heartbeat(healthy=True))
    while True:
        outbox.put_nowait(beat)
        await asyncio.sleep(interval)


async def fleet(realm: str, workers: int, prefix: str, join_token: str, per_connection: int) -> None:
    metadata = (("authorization", f"Bearer {join_token}"),) if join_token else ()
    channels = [grpc.aio.insecure_channel(realm, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(-(-workers // per_connection))]
    up, welcomed = asyncio.Event(), [0]
    tasks = [asyncio.create_task(one_worker(channels[i // per_connection], f"{prefix}-{i}", metadata, up,
                                            welcomed, workers)) for i in range(workers)]
    await up.wait()
    print(f"fleet up: {workers} workers", flush=True)
    await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("realm")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--prefix", default="fleet")
    parser.add_argument("--join-token", default="")
    parser.add_argument("--per-connection", type=int, default=1, help="worker streams per HTTP/2 connection")
    args = parser.parse_args()
    asyncio.run(fleet(args.realm, args.workers, args.prefix, args.join_token, max(1, args.per_connection)))


if __name__ == "__main__":
    main()
