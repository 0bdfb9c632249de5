"""mtor.v1.Account: a caller asks about themselves."""
from __future__ import annotations

import grpc
from mtor_client._proto.mtor.v1 import account_pb2, account_pb2_grpc

from ..accounting import Ledger, Quotas
from ..auth import Accounts
from ._status import unary
from ._usage import usage_report


class AccountService(account_pb2_grpc.AccountServicer):
    def __init__(self, accounts: Accounts, ledger: Ledger, quotas: Quotas) -> None:
        self.accounts, self.ledger, self.quotas = accounts, ledger, quotas

    @unary
    async def WhoAmI(self, request: account_pb2.WhoAmIRequest,
                     context: grpc.aio.ServicerContext) -> account_pb2.WhoAmIResponse:
        caller = self.accounts.caller(context.invocation_metadata())
        return account_pb2.WhoAmIResponse(user=caller.user, sysop=caller.is_sysop)

    @unary
    async def Usage(self, request: account_pb2.UsageRequest,
                    context: grpc.aio.ServicerContext) -> account_pb2.UsageReport:
        caller = self.accounts.caller(context.invocation_metadata())
        return await usage_report(self.ledger, self.quotas, caller.user)
