"""What this realm tells a peer it can serve for it: its own workers' capacity per kind (hops 0), or, for
a kind it has no worker for, what its other peers report (one hop more). Never what it learned from the
peer it reports to (split horizon), nor beyond federation.max_hops."""
from __future__ import annotations

from mtor_client._proto.mtor.v1 import federation_pb2
from mtor_client.kinds import WORKER_KINDS, name_of, to_proto

from mtor_common.config import Config
from mtor_server.describe import Describe
from mtor_server.scheduler.dispatcher import Dispatcher
from mtor_server.scheduler.registry import Registry

from .book import Peer


class Capacity:
    def __init__(self, cfg: Config, describe: Describe, registry: Registry, dispatcher: Dispatcher) -> None:
        self.cfg, self.describe, self.registry, self.dispatcher = cfg, describe, registry, dispatcher

    def report(self, peer: Peer, interval_s: float, healthy: bool = True) -> federation_pb2.Capacity:
        report = federation_pb2.Capacity(healthy=healthy, interval_s=interval_s)
        local = {name_of(k.kind): k for k in self.describe().kinds if k.workers}
        for kind in WORKER_KINDS:
            if not peer.accepts(kind):
                continue
            base, per_second = self.cfg.costs.rates(kind)
            entry = report.kinds.add(kind=to_proto(kind), cost_base=base, cost_per_second=per_second)
            if kind in local:
                mine = local[kind]
                entry.free_slots, entry.queue_depth = mine.free_slots, mine.queue_depth
                entry.models.extend(m for m in mine.models if not m.startswith("$"))  # pool aliases are ours alone
                continue
            offers = [(p, o) for p in self.registry.peers() if p.realm_id != peer.realm_id
                      and (o := p.offer(kind, "")) is not None and o.hops + 1 < self.cfg.federation.max_hops]
            if not offers:
                del report.kinds[-1]
                continue
            entry.hops = 1 + min(o.hops for _, o in offers)
            entry.free_slots = sum(o.free_slots for _, o in offers)
            entry.queue_depth = self.dispatcher.queue_depth(kind)
            models = [p.capabilities[kind] for p, _ in offers]
            if all(models):
                entry.models.extend(sorted(set().union(*models)))
        return report
