"""RealmInfo.Describe: who the realm is and what it can serve now (also what peers and the DNS-SD
announcement are told)."""
from __future__ import annotations

import time

from mtor_client._proto.mtor.v1 import realm_pb2
from mtor_client.kinds import WORKER_KINDS, to_proto

from . import PROTOCOL, __version__
from .scheduler.dispatcher import Dispatcher
from .scheduler.pools import Pools
from .scheduler.registry import Registry


class Describe:
    def __init__(self, realm_id: str, name: str, registry: Registry, dispatcher: Dispatcher, pools: Pools) -> None:
        self.id, self.name = realm_id, name
        self.registry, self.dispatcher, self.pools = registry, dispatcher, pools
        self.started_at = time.time()

    def __call__(self) -> realm_pb2.DescribeResponse:
        response = realm_pb2.DescribeResponse(id=self.id, name=self.name, version=__version__, protocol=PROTOCOL,
                                              uptime_s=time.time() - self.started_at)
        workers = self.registry.workers()
        for kind in WORKER_KINDS:
            serving = [w for w in workers if kind in w.capabilities and w.available]
            depth = self.dispatcher.queue_depth(kind)
            if not serving and not depth:
                continue
            any_model = any(not w.capabilities[kind] for w in serving)
            models = set() if any_model else {m for w in serving for m in w.capabilities[kind]}
            if not any_model:
                models.update(self.pools.aliases(kind, (w.name for w in serving)))
            response.kinds.add(kind=to_proto(kind), workers=len(serving), queue_depth=depth,
                               free_slots=sum(w.free_slots for w in serving), models=sorted(models))
        response.running = sum(len(w.running) for w in workers)
        return response
