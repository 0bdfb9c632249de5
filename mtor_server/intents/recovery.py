"""After a restart: everything accepted and unfinished when the realm stopped is live again, in the state
its row says, and carried on (queued, retried, its composer resumed)."""
from __future__ import annotations

import logging
import time

import grpc

from ..errors import intent_error as error
from ..lifecycle import CANCELLED, RUNNING, Life
from ..records import LiveIntent
from ..scheduler.dispatcher import Dispatcher
from ..scheduler.route import PEER_USER_PREFIX
from ..store import Store
from .book import IntentBook
from .intake import Composer, Submit

log = logging.getLogger("mtor.realm")


async def recover(store: Store, book: IntentBook, dispatcher: Dispatcher, composers: dict[str, Composer],
                  submit: Submit) -> None:
    rows = await store.unfinished()
    composed: list[LiveIntent] = []
    for row in rows:
        intent = LiveIntent(id=row.id, user=row.user, kind=row.kind, model=row.model, request_data=row.request,
                            created_at=row.created_at, life=Life.recovered(row.id, row.state, row.attempts),
                            request_id=row.request_id, deadline=row.deadline)
        book.add(intent)
        book.apply(intent, intent.life.accept())
        if intent.user.startswith(PEER_USER_PREFIX):  # its origin realm saw the link break and re-routed it
            book.finish(intent, CANCELLED, error=error(
                grpc.StatusCode.UNAVAILABLE, "the realm restarted; the realm that forwarded it routes it again"))
            continue
        if intent.kind in composers:
            book.apply(intent, intent.life.compose(time.time(), retry_reason="the realm restarted"))
            composed.append(intent)  # its composer starts once every row is back, so that its steps are found
        else:
            dispatcher.recovered(intent, row.state == RUNNING)
        dispatcher.arm_deadline(intent)
    for intent in composed:
        composers[intent.kind].start(intent, submit)
    if rows:
        log.info("recovered %d unfinished intents", len(rows))
