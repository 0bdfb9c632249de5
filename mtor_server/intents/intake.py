"""Intake: what is accepted, and how. A Submit is validated, checked against pools, the federation's reach,
the user's quota and the queue's fair share, attached to an earlier Submit of its request id, and recorded
before anything is said about it; then the dispatcher (or, for a composed kind, its composer) takes it."""
from __future__ import annotations

import time
import uuid
from typing import Protocol

from mtor_client._proto.mtor.v1 import intent_pb2
from mtor_client.kinds import WORKER_KINDS

from ..accounting import Quotas
from ..lifecycle import QUEUED, Life
from ..records import LiveIntent
from ..scheduler.dispatcher import Dispatcher
from ..scheduler.pools import Pools, is_alias
from ..scheduler.route import Route
from ..store import IntegrityError, Store, StoreError
from ..validate import validate_intent
from .book import IntentBook, not_recorded


class Composer(Protocol):
    """Carries out a kind no worker serves, as intents of other kinds (converse.py)."""

    def start(self, intent: LiveIntent, submit: "Submit") -> None: ...


class Submit(Protocol):
    async def __call__(self, user: str, request: intent_pb2.IntentRequest, deadline: float | None,
                       metered: bool = True, route: Route | None = None) -> str: ...


class Intake:
    def __init__(self, max_payload_bytes: int, store: Store, book: IntentBook, dispatcher: Dispatcher,
                 quotas: Quotas, pools: Pools, composers: dict[str, Composer]) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.store, self.book, self.dispatcher, self.quotas, self.pools = store, book, dispatcher, quotas, pools
        self.composers = composers

    async def submit(self, user: str, request: intent_pb2.IntentRequest, deadline: float | None,
                     metered: bool = True, route: Route | None = None) -> str:
        """Validate, record and queue (or start) an intent; returns its id. A metered submission
        counts against the user's quota (a converse intent's steps do not: the intent did). `route`:
        how a peer realm forwarded it here."""
        kind = validate_intent(request, self.max_payload_bytes)
        if is_alias(request.model):
            self.pools.get(request.model, kind)
        composed = kind not in WORKER_KINDS  # it waits in its steps' queues
        if not composed:
            self.dispatcher.refusal(kind, request.model, request, route)
        if request.request_id and (existing := await self.book.existing(user, request.request_id)) is not None:
            return existing
        if metered:
            self.quotas.admit(user)
        if not composed:
            self.dispatcher.reserve(kind, user)
        intent_id = uuid.uuid4().hex
        intent = LiveIntent(id=intent_id, user=user, kind=kind, model=request.model,
                            request_data=request.SerializeToString(), created_at=time.time(), life=Life(intent_id),
                            request_id=request.request_id, parsed=request, deadline=deadline, route=route)
        self.book.add(intent)
        intent.recorded = self.store.insert(
            id=intent.id, user=user, request_id=intent.request_id, kind=kind, model=intent.model,
            request=intent.request_data, state=QUEUED, created_at=intent.created_at, deadline=deadline)
        if not composed:
            # dispatched while its insert commits (its place in the queue, if it waits, replaces the one
            # reserved); its caller hears of it (`accepted` first) only once it is recorded, and its outcome
            # is written only after the insert (book._finished)
            self.dispatcher.release(kind, user)
            self.dispatcher.admit(intent)
        try:
            await intent.recorded
        except IntegrityError:  # the request id was recorded by a Submit that existing() could not see
            self._withdraw(intent)
            row = await self.store.find_request(user, intent.request_id)
            if row is None:
                raise not_recorded() from None
            return row.id
        except StoreError:
            self._withdraw(intent)
            raise not_recorded() from None
        intent.recorded = None  # done with: a queued intent keeps only what it needs (bench_queue's RSS)
        if not intent.life.done:
            self.dispatcher.arm_deadline(intent)
        if composed:
            self.book.apply(intent, intent.life.accept())
            self.book.apply(intent, intent.life.compose(time.time()))
            self.composers[kind].start(intent, self.submit)
        return intent.id

    def _withdraw(self, intent: LiveIntent) -> None:
        """It could not be recorded: nothing was said of it and nothing of it is written; what it started stops."""
        if intent.kind in WORKER_KINDS:
            self.dispatcher.withdraw(intent, "the realm could not record the intent")
        self.book.forget(intent)
