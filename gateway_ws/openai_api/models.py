"""GET /v1/models: what the realm can serve now, from RealmInfo.Describe, plus the pool aliases the caller
may see (Admin.ListPools answers sysops only; others get the aliases Describe already names)."""
from __future__ import annotations

import time
from typing import Any

import grpc
from mtor_client import kinds
from mtor_client._proto.mtor.v1 import admin_pb2, admin_pb2_grpc, realm_pb2, realm_pb2_grpc

from ..link import RealmLink
from .errors import from_rpc

_TIMEOUT_S = 10.0


async def list_models(link: RealmLink, token: str | None) -> dict[str, Any]:
    """OpenAI's list object. Each entry also says which MTOR kinds serve it (`mtor_kinds`); workers that take
    any model name (echo, upstream) add no entry of their own: any name reaches them."""
    metadata = RealmLink.metadata(token)
    try:
        realm = await realm_pb2_grpc.RealmInfoStub(link.channel).Describe(realm_pb2.DescribeRequest(),
                                                                          metadata=metadata, timeout=_TIMEOUT_S)
    except grpc.aio.AioRpcError as e:
        raise from_rpc(e) from None
    served: dict[str, list[str]] = {}
    for capacity in realm.kinds:
        for model in capacity.models:
            served.setdefault(model, []).append(kinds.name_of(capacity.kind) or "")
    for pool in await _pools(link, metadata):
        served.setdefault("$" + pool.name, []).append(kinds.name_of(pool.kind) or "")
    created = int(time.time() - realm.uptime_s)
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": created, "owned_by": realm.name, "mtor_kinds": sorted(set(of))}
        for name, of in sorted(served.items())]}


async def _pools(link: RealmLink, metadata: tuple[tuple[str, str], ...]) -> list[admin_pb2.Pool]:
    """Every pool alias, for a caller the realm lets see them; none for the others (not an error)."""
    try:
        response = await admin_pb2_grpc.AdminStub(link.channel).ListPools(admin_pb2.ListPoolsRequest(),
                                                                          metadata=metadata, timeout=_TIMEOUT_S)
    except grpc.aio.AioRpcError as e:
        if e.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            return []
        raise from_rpc(e) from None
    return list(response.pools)
