"""Federation as a plug-in of the realm's server: the realm core never imports this package; the command line
hands `FederationExtension()` to `RealmServer.start`."""
from __future__ import annotations

from typing import Sequence

import grpc
from mtor_client import TLS
from mtor_client._proto.mtor.v1 import federation_pb2_grpc, peers_pb2_grpc

from mtor_server.realm import Realm
from mtor_server.store import Schema

from .admin import PeersService
from .hub import SCHEMAS, Federation


class FederationExtension:
    schemas: Sequence[Schema] = SCHEMAS

    async def open(self, realm: Realm, tls: TLS | None) -> "OpenFederation":
        return OpenFederation(realm, await Federation.open(realm, tls))


class OpenFederation:
    def __init__(self, realm: Realm, federation: Federation) -> None:
        self.realm, self.federation = realm, federation

    def register(self, server: grpc.aio.Server) -> None:
        federation_pb2_grpc.add_FederationServicer_to_server(self.federation.service, server)
        realm = self.realm
        peers = PeersService(self.federation, realm.accounts, realm.quotas, realm.audit)
        peers_pb2_grpc.add_PeersServicer_to_server(peers, server)

    def start(self) -> None:
        self.federation.start()

    async def stop(self) -> None:
        await self.federation.stop()
