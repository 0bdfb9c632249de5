"""mtor.v1.Intents: what callers use."""
from __future__ import annotations

import time
from typing import AsyncIterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2, intents_pb2, intents_pb2_grpc

from ..accounting import Presence
from ..auth import Accounts
from ..errors import invalid
from ..intents.book import IntentBook
from ..intents.intake import Intake
from ..notices import NoticeHub
from ..scheduler.dispatcher import Dispatcher
from ._status import streaming, unary


def _intent_id(value: str) -> str:
    if not value:
        raise invalid("intent_id is empty")
    return value


class IntentsService(intents_pb2_grpc.IntentsServicer):
    def __init__(self, *, accounts: Accounts, intake: Intake, book: IntentBook, dispatcher: Dispatcher,
                 presence: Presence, notices: NoticeHub) -> None:
        self.accounts, self.intake, self.book, self.dispatcher, self.presence, self.notices = (
            accounts, intake, book, dispatcher, presence, notices)

    @streaming
    async def Submit(self, request: intents_pb2.SubmitRequest,
                     context: grpc.aio.ServicerContext) -> AsyncIterator[intent_pb2.IntentEvent]:
        caller = self.accounts.caller(context.invocation_metadata())
        remaining = context.time_remaining()
        deadline = time.time() + remaining if remaining is not None else None
        with self.presence.connected(caller.user):
            intent_id = await self.intake.submit(caller.user, request.intent, deadline)
            async for event in self.book.follow(intent_id):
                yield event

    @unary
    async def Cancel(self, request: intents_pb2.CancelRequest,
                     context: grpc.aio.ServicerContext) -> intents_pb2.CancelResponse:
        caller = self.accounts.caller(context.invocation_metadata())
        return intents_pb2.CancelResponse(state=await self.dispatcher.cancel_by(_intent_id(request.intent_id), caller))

    @unary
    async def Get(self, request: intents_pb2.GetRequest, context: grpc.aio.ServicerContext) -> intents_pb2.GetResponse:
        caller = self.accounts.caller(context.invocation_metadata())
        return intents_pb2.GetResponse(intent=await self.book.get(_intent_id(request.intent_id), caller))

    @streaming
    async def Watch(self, request: intents_pb2.WatchRequest,
                    context: grpc.aio.ServicerContext) -> AsyncIterator[intent_pb2.IntentEvent]:
        caller = self.accounts.caller(context.invocation_metadata())
        with self.presence.connected(caller.user):
            async for event in self.book.follow(_intent_id(request.intent_id), request.after_seq, caller):
                yield event

    @streaming
    async def Notices(self, request: intents_pb2.NoticesRequest,
                      context: grpc.aio.ServicerContext) -> AsyncIterator[intents_pb2.Notice]:
        caller = self.accounts.caller(context.invocation_metadata())
        queue = self.notices.subscribe(caller)
        try:
            with self.presence.connected(caller.user):
                while True:
                    yield await queue.get()
        finally:
            self.notices.unsubscribe(queue)
