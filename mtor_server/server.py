"""The realm's gRPC server: its services, standard health and reflection."""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Protocol, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from mtor_client import TLS
from mtor_client._proto.mtor.v1 import (
    account_pb2,
    account_pb2_grpc,
    admin_pb2,
    admin_pb2_grpc,
    federation_pb2,
    intents_pb2,
    intents_pb2_grpc,
    peers_pb2,
    realm_pb2,
    realm_pb2_grpc,
    worker_link_pb2,
    worker_link_pb2_grpc,
)

from mtor_common.address import join_address, split_address
from mtor_common.config import Config, ConfigError, HealthSection
from mtor_common.discovery import DiscoveryError
from mtor_common.discovery.where import where_to_announce
from mtor_common.tls import client_tls, server_credentials, server_mode, server_ssl_context

from .discovery.network import NetworkView
from .discovery.realm import RealmAnnouncement, announce_realm
from .identity import realm_id
from .metrics import MetricsServer
from .realm import Realm
from .services._guard import RequestGuard
from .services.account import AccountService
from .services.admin import AdminService
from .services.health_service import HealthService
from .services.intents import IntentsService
from .services.realm_info import RealmInfoService
from .services.worker_link import WorkerLinkService
from .store import Schema

log = logging.getLogger("mtor.server")

SERVICES = (
    account_pb2.DESCRIPTOR.services_by_name["Account"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
    intents_pb2.DESCRIPTOR.services_by_name["Intents"].full_name,
    worker_link_pb2.DESCRIPTOR.services_by_name["WorkerLink"].full_name,
    realm_pb2.DESCRIPTOR.services_by_name["RealmInfo"].full_name,
    federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name,
    peers_pb2.DESCRIPTOR.services_by_name["Peers"].full_name,
)


class Extension(Protocol):
    """A part that plugs into the realm from a layer above it (federation): the core never imports it, the
    command line hands it over."""

    schemas: Sequence[Schema]
    """The store tables it keeps, created with the realm's own."""

    async def open(self, realm: Realm, tls: TLS | None) -> "OpenExtension": ...


class OpenExtension(Protocol):
    def register(self, server: grpc.aio.Server) -> None:
        """Add its services to the realm's server."""

    def start(self) -> None:
        """Once the server serves."""

    async def stop(self) -> None: ...


class RealmServer:
    """A started realm; `address` is where it listens (the real port when 0 was asked)."""

    discovery: RealmAnnouncement | None = None
    """Its announcement on the local network ([discovery]); None when not announced."""

    def __init__(self, realm: Realm, extensions: list[OpenExtension], server: grpc.aio.Server,
                 health_servicer: health.aio.HealthServicer, address: str, first_run: list[str],
                 transport: str = "plaintext", metrics: MetricsServer | None = None) -> None:
        self.realm, self.extensions, self._server, self._health = realm, extensions, server, health_servicer
        self.address = address
        self.metrics = metrics
        """The Prometheus endpoint ([metrics] listen); None when turned off."""
        self.first_run = first_run
        self.transport = transport
        """How it serves: plaintext, TLS or mutual TLS (tls.server_mode)."""
        """What the first start created and shows once (the sysop's and a worker join token)."""

    @classmethod
    async def start(cls, cfg: Config, data_dir: Path, extensions: Sequence[Extension] = ()) -> "RealmServer":
        credentials = server_credentials(cfg.tls)  # a TLS mistake stops the start before the store opens
        metrics_at = _metrics_address(cfg)  # a mistake here also stops the start before the store opens
        host, _ = split_address(cfg.realm.listen)
        network = _network_view(cfg, realm_id(data_dir), host)
        realm = await Realm.open(cfg, data_dir, [schema for e in extensions for schema in e.schemas], network)
        opened: list[OpenExtension] = []
        metrics: MetricsServer | None = None
        server: grpc.aio.Server | None = None
        try:  # whatever fails, nothing is left running: a realm that cannot start exits
            for extension in extensions:
                opened.append(await extension.open(realm, client_tls(cfg.tls)))
            metrics = None if metrics_at is None else await _start_metrics(cfg, realm, *metrics_at)
            # after the parts above, so that a realm that cannot start has shown no secrets it then forgets
            first_run = await realm.accounts.bootstrap()
            limit = cfg.realm.max_message_bytes
            guard = RequestGuard(realm.metrics.rpc_refused, realm.metrics.rpc_failures)
            server = grpc.aio.server(interceptors=[guard], options=[("grpc.max_receive_message_length", limit),
                                                                    ("grpc.max_send_message_length", limit),
                                                                    *keepalive_options(cfg.health)])
            _add_services(realm, server)
            for part in opened:
                part.register(server)
            health_servicer = HealthService(("", *SERVICES))
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
            reflection.enable_server_reflection(
                (*SERVICES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
                server)
            await realm.network.start()
            if credentials is None:
                port = server.add_insecure_port(cfg.realm.listen)
            else:
                port = server.add_secure_port(cfg.realm.listen, credentials)
            await server.start()
            for name in ("", *SERVICES):
                await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
            for part in opened:
                part.start()
            started = cls(realm, opened, server, health_servicer, join_address(host, port), first_run,
                          server_mode(cfg.tls), metrics)
            started.discovery = await announce_realm(cfg, realm.describe, realm.changes, host, port)
        except BaseException:
            if server is not None:
                await server.stop(None)
            for part in reversed(opened):
                await part.stop()
            if metrics is not None:
                await metrics.stop()
            await realm.network.stop()
            await realm.close()
            raise
        return started

    def announce(self, data_dir: Path) -> None:
        """Tell the operator where the realm is, and (first start only) its secrets."""
        over = "" if self.transport == "plaintext" else f" with {self.transport}"
        lines = [f"mtor realm {self.realm.name!r} listening on {self.address}{over} (data dir {data_dir})"]
        if self.metrics is not None:
            lines.append(f"  metrics on {self.metrics.url}")
        if self.discovery is not None:
            lines.append(f"  announced on the local network as {self.discovery.advertiser.instance!r} "
                         f"({self.discovery.advertiser.where})")
        lines += [f"  {line}" for line in self.first_run]
        print("\n".join(lines), flush=True)  # one write: whoever sees the first line sees them all

    async def stop(self, grace_s: float = 2.0) -> None:
        if self.discovery is not None:  # goodbye first: browsers forget the realm at once
            await self.discovery.stop()
        await self.realm.network.stop()
        for part in reversed(self.extensions):
            await part.stop()
        await self._health.enter_graceful_shutdown()
        self.realm.registry.stopping = True
        await self._server.stop(grace_s)
        if self.metrics is not None:
            await self.metrics.stop()
        await self.realm.close()


def keepalive_options(health: HealthSection) -> list[tuple[str, int]]:
    """The realm pings every connection and closes one whose ping goes unanswered: how a worker that froze or lost
    power (its TCP connection open, silent) is found out within seconds, with no heartbeat messages in Python.
    keepalive_timeout_ms alone does not close such a connection (gRPC 1.85, tested): the ping's own timeout
    does, and pings must go out on connections that carry no data."""
    every, within = int(health.keepalive_s * 1000), int(health.keepalive_timeout_s * 1000)
    return [("grpc.keepalive_time_ms", every), ("grpc.keepalive_timeout_ms", within),
            ("grpc.http2.ping_timeout_ms", within), ("grpc.http2.max_pings_without_data", 0)]


def _add_services(realm: Realm, server: grpc.aio.Server) -> None:
    """The realm's own services, each given the parts it needs."""
    intents_pb2_grpc.add_IntentsServicer_to_server(IntentsService(
        accounts=realm.accounts, intake=realm.intake, book=realm.book, dispatcher=realm.dispatcher,
        presence=realm.presence, notices=realm.notices), server)
    worker_link_pb2_grpc.add_WorkerLinkServicer_to_server(WorkerLinkService(
        realm.accounts, realm.registry, realm.dispatcher, realm.network), server)
    realm_pb2_grpc.add_RealmInfoServicer_to_server(RealmInfoService(realm.describe), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminService(
        accounts=realm.accounts, audit=realm.audit, registry=realm.registry, dispatcher=realm.dispatcher,
        pools=realm.pools, network=realm.network, notices=realm.notices, presence=realm.presence,
        quotas=realm.quotas, ledger=realm.ledger, changes=realm.changes), server)
    account_pb2_grpc.add_AccountServicer_to_server(AccountService(realm.accounts, realm.ledger, realm.quotas), server)


def _network_view(cfg: Config, own_id: str, listen_host: str) -> NetworkView:
    """What the realm listens to: the interfaces it is announced on (loopback only for a realm on a loopback
    address), and its seeds."""
    interfaces = None
    if cfg.discovery.watch:
        try:
            where = where_to_announce(listen_host, cfg.discovery.interfaces)
        except DiscoveryError as e:
            log.warning("not listening for workers and realms on the local network: %s", e)
        else:
            interfaces = where[1] if where is not None else None
    return NetworkView(own_id, interfaces, cfg.discovery.seeds, client_tls(cfg.tls))


def _metrics_address(cfg: Config) -> tuple[str, int] | None:
    """(host, port) of [metrics] listen; None when it is empty (no endpoint)."""
    if not cfg.metrics.listen.strip():
        return None
    try:
        return split_address(cfg.metrics.listen.strip())
    except ValueError as e:
        raise ConfigError(f"metrics.listen: {e}") from None


async def _start_metrics(cfg: Config, realm: Realm, host: str, port: int) -> MetricsServer:
    try:
        return await MetricsServer.start(host, port, realm.metrics.render, server_ssl_context(cfg.tls))
    except OSError as e:
        raise ConfigError(f"metrics.listen {cfg.metrics.listen}: cannot listen ({e.strerror or e}); set another "
                          "HOST:PORT, port 0 for a free one, or empty for no metrics endpoint") from None


async def wait_for_signal() -> None:
    """Return on the first SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_realm(cfg: Config, data_dir: Path, extensions: Sequence[Extension] = ()) -> int:
    """Serve until SIGTERM or SIGINT."""
    server = await RealmServer.start(cfg, data_dir, extensions)
    server.announce(data_dir)
    await wait_for_signal()
    log.info("stopping")
    await server.stop()
    return 0
