"""The realm's announcement: `_mtor._tcp.local.` with its id, name, protocol,
the kinds it serves now, TLS on/off and that workers need a join token."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from mtor_common.discovery import REALM_TYPE, Advertiser
from mtor_common.discovery.where import where_to_announce

if TYPE_CHECKING:
    from mtor_common.config import Config

    from ..changes import Changes
    from ..describe import Describe

log = logging.getLogger("mtor.discovery")

def realm_txt(describe: Describe, tls: bool) -> dict[str, str]:
    from mtor_client.kinds import name_of

    from mtor_common import PROTOCOL

    served = sorted(name_of(k.kind) for k in describe().kinds if k.workers > 0)
    return {"id": describe.id, "name": describe.name, "protocol": str(PROTOCOL), "kinds": ",".join(served),
            "tls": "on" if tls else "off", "join_token": "required"}


class RealmAnnouncement:
    """The realm's announcement, its TXT kept up to date with the kinds served."""

    def __init__(self, advertiser: Advertiser, describe: Describe, changes: Changes, tls: bool,
                 txt: dict[str, str]) -> None:
        self.advertiser, self._describe, self._changes, self._tls = advertiser, describe, changes, tls
        self._txt = txt
        """What is announced now."""
        self._changed = changes.watch()
        self._changed.set()  # workers may have come while the announcement was being registered
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="mtor-discovery-txt")

    async def _follow(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            txt = realm_txt(self._describe, self._tls)
            if txt != self._txt:
                self._txt = txt
                try:
                    await self.advertiser.update(txt)
                except Exception as e:  # the realm serves on regardless
                    log.warning("could not update the announcement: %s", e)
            await asyncio.sleep(0.5)  # at most two updates a second, however busy the realm

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._changes.unwatch(self._changed)
        await self.advertiser.stop()


async def announce_realm(cfg: Config, describe: Describe, changes: Changes, listen_host: str,
                         port: int) -> RealmAnnouncement | None:
    """Announce the realm per [discovery]; None when turned off or impossible (logged, never fatal)."""
    if not cfg.discovery.advertise:
        return None
    from mtor_common.tls import server_mode

    try:
        where = where_to_announce(listen_host, cfg.discovery.interfaces)
        if where is None:
            log.warning("realm.listen %s has no IPv4 address to announce; not announced", listen_host)
            return None
        addresses, interfaces = where
        tls = server_mode(cfg.tls) != "plaintext"
        txt = realm_txt(describe, tls)
        advertiser = await Advertiser.start(REALM_TYPE, describe.name, describe.id, port, addresses, txt, interfaces)
    except Exception as e:
        log.warning("could not announce the realm on the local network: %s", e)
        return None
    return RealmAnnouncement(advertiser, describe, changes, tls, txt)
