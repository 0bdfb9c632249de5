"""mtor.v1.Account: a caller asks about themselves."""
from __future__ import annotations

import grpc
from mtor_client._proto.mtor.v1 import account_pb2, account_pb2_grpc

from ..realm import Realm
from ._status import unary
from ._usage import usage_report


class AccountService(account_pb2_grpc.AccountServicer):
    def __init__(self, realm: Realm) -> None:
        self.realm = realm

    @unary
    async def WhoAmI(self, request: account_pb2.WhoAmIRequest,
                     context: grpc.aio.ServicerContext) -> account_pb2.WhoAmIResponse:
        caller = self.realm.accounts.caller(context.invocation_metadata())
        return account_pb2.WhoAmIResponse(user=caller.user, sysop=caller.is_sysop)

    @unary
    async def Usage(self, request: account_pb2.UsageRequest,
                    context: grpc.aio.ServicerContext) -> account_pb2.UsageReport:
        caller = self.realm.accounts.caller(context.invocation_metadata())
        return await usage_report(self.realm, caller.user)
