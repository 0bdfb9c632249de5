"""mtor.v1.RealmInfo: who the realm is and what it can serve now."""
from __future__ import annotations

import grpc
from mtor_client._proto.mtor.v1 import realm_pb2, realm_pb2_grpc

from ..describe import Describe


class RealmInfoService(realm_pb2_grpc.RealmInfoServicer):
    def __init__(self, describe: Describe) -> None:
        self.describe = describe

    async def Describe(self, request: realm_pb2.DescribeRequest,
                       context: grpc.aio.ServicerContext) -> realm_pb2.DescribeResponse:
        return self.describe()
