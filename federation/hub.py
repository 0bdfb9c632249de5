"""The federation part of a running realm: its peer book, the links to its peers, the usage records."""
from __future__ import annotations

from mtor_client import TLS

from mtor_server.lifecycle import SUCCEEDED
from mtor_server.realm import Realm

from .book import SCHEMA as BOOK_SCHEMA
from .book import Peer, PeerBook
from .capacity import Capacity
from .link import PeerLink
from .service import FederationService
from .usage import SCHEMA as USAGE_SCHEMA
from .usage import UsageBook

SCHEMAS = (BOOK_SCHEMA, USAGE_SCHEMA)
"""The federation's tables, created with the realm's (Realm.open)."""


class Federation:
    def __init__(self, realm: Realm, book: PeerBook, tls: TLS | None) -> None:
        """`realm`: the core's parts, handed on to the federation's own as each needs them."""
        self.realm, self.book, self.tls = realm, book, tls
        self.usage = UsageBook(realm.store, SUCCEEDED)
        self.service = FederationService(
            book, accounts=realm.accounts, describe=realm.describe, changes=realm.changes, intake=realm.intake,
            intents=realm.book, dispatcher=realm.dispatcher,
            capacity=Capacity(realm.cfg, realm.describe, realm.registry, realm.dispatcher))
        self.links: dict[str, PeerLink] = {}

    @classmethod
    async def open(cls, realm: Realm, tls: TLS | None) -> "Federation":
        return cls(realm, await PeerBook.open(realm.store), tls)

    def start(self) -> None:
        """Link to every peer this realm may call (once it serves, so that they can link back)."""
        for peer in self.book.all():
            self._link(peer)

    def _link(self, peer: Peer) -> None:
        if peer.token:  # this realm may call it: at its address, or where discovery shows it
            realm = self.realm
            link = self.links[peer.name] = PeerLink(
                peer, own=self.service.hello, registry=realm.registry, dispatcher=realm.dispatcher,
                network=realm.network, report_interval_s=realm.cfg.health.peer_report_interval_s, book=self.book,
                usage=self.usage, tls=self.tls)
            link.start()

    async def relink(self, peer: Peer) -> None:
        """After a peer was added or changed: its link (re)starts with what is known now."""
        await self.unlink(peer.name)
        self._link(peer)

    async def unlink(self, name: str) -> None:
        link = self.links.pop(name, None)
        if link is not None:
            await link.stop()

    async def stop(self) -> None:
        self.service.closing = True
        for name in list(self.links):
            await self.unlink(name)
