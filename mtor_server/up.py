"""`mtor up`: a realm and one local worker, the worker in its own process so
that model libraries never load into the realm."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from mtor_common.address import join_address, split_address
from mtor_common.config import Config

from .auth.accounts import JOIN_TOKEN_ENV
from .server import Extension, RealmServer, wait_for_signal

log = logging.getLogger("mtor.up")
DRAIN_TIMEOUT_S = 30.0


def _local_address(address: str) -> str:
    host, port = split_address(address)
    return join_address("127.0.0.1" if host in ("0.0.0.0", "::", "") else host, port)


def _worker_target(server: RealmServer, cfg: Config) -> str:
    """Where the local worker connects: grpcs:// for a TLS realm, so that it
    uses TLS even without tls.ca_file (then trusting the system's roots)."""
    address = _local_address(server.address)
    if server.transport == "plaintext":
        return address
    if server.transport == "mutual TLS" and not cfg.tls.client_cert_file:
        log.warning("the realm requires client certificates but tls.client_cert_file is empty: "
                    "the local worker cannot join")
    return f"grpcs://{address}"


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not exited within DRAIN_TIMEOUT_S."""
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), DRAIN_TIMEOUT_S)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()


async def run_up(cfg: Config, data_dir: Path, backends: list[str] | None, gateway: bool = True,
                 extensions: Sequence[Extension] = ()) -> int:
    """`gateway`: start the gateway too (its own process, printing its URL), stopped with the rest."""
    server = await RealmServer.start(cfg, data_dir, extensions)
    server.announce(data_dir)
    # the local worker gets a join token of its own, revoked when `up` stops
    join_token, record = await server.realm.accounts.issue_join_token(label="mtor up: local worker")
    target = _worker_target(server, cfg)
    command = [sys.executable, "-m", "mtor_server.cli", "worker", "--realm", target, "--data-dir", str(data_dir)]
    for backend in backends or []:
        command += ["--backend", backend]
    front = None
    if gateway:  # the realm never imports the web stack: the gateway is a process of its own
        front = await asyncio.create_subprocess_exec(sys.executable, "-m", "mtor_server.cli", "gateway", "--realm",
                                                     target, "--data-dir", str(data_dir))
    worker = await asyncio.create_subprocess_exec(*command, env={**os.environ, JOIN_TOKEN_ENV: join_token})
    waiter = asyncio.create_task(worker.wait())
    signalled = asyncio.create_task(wait_for_signal())
    await asyncio.wait({waiter, signalled}, return_when=asyncio.FIRST_COMPLETED)
    asked_to_stop = signalled.done()
    if worker.returncode is None:
        await _stop(worker)  # the worker drains: running intents finish first
    else:
        log.error("the local worker exited with status %s", worker.returncode)
    signalled.cancel()
    if front is not None and front.returncode is None:
        await _stop(front)
    await server.realm.accounts.revoke_token(record)
    await server.stop()
    return 0 if asked_to_stop else 1
