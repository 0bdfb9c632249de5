"""Which executor takes an intent now: interchangeable strategies over the registry's executors, tried in
order by the dispatcher (the first that picks one wins). A worker for the model asked, a member of the pool
asked ($NAME), a peer realm (federation): each strategy says itself whether it applies to an intent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Mapping, Protocol, Sequence

from mtor_client._proto.mtor.v1 import intent_pb2

from ..errors import RealmError
from .executor import Executor, PeerExecutor
from .peer_choice import pick_peer
from .pools import Pools, is_alias
from .registry import Registry
from .route import Route


class Ask(Protocol):
    """What a strategy needs to know of an intent (a LiveIntent is one)."""

    @property
    def kind(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def request(self) -> intent_pb2.IntentRequest: ...

    @property
    def route(self) -> Route | None:
        """How a peer realm forwarded it here; None for an intent submitted here."""

    @property
    def avoid(self) -> AbstractSet[str]:
        """Ids of peer realms that failed it."""


@dataclass(frozen=True)
class Wanted:
    """An Ask before there is an intent (Submit checks that something can serve it)."""

    kind: str
    model: str
    request: intent_pb2.IntentRequest
    route: Route | None = None
    avoid: AbstractSet[str] = frozenset()


@dataclass(frozen=True)
class Choice:
    executor: Executor
    reason: str = ""
    """Why this one, when the caller is told (a peer realm: "route chat=B,C" or its score's terms)."""


class Strategy(Protocol):
    def pick(self, ask: Ask) -> Choice | None:
        """An executor that can take it now; None when none can (or the strategy does not apply)."""

    def serves(self, ask: Ask) -> bool:
        """Whether any of its executors serves it at all, busy or not."""


class BestWorker:
    """The healthiest, then least loaded, worker serving the kind and model: picker.py's choice, kept ranked by
    the registry (ranking.py) so that a pick does not read every worker."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def pick(self, ask: Ask) -> Choice | None:
        if is_alias(ask.model):
            return None
        worker = self.registry.ranking.best(ask.kind, ask.model)
        return Choice(worker) if worker is not None else None

    def serves(self, ask: Ask) -> bool:
        return not is_alias(ask.model) and any(w.serves(ask.kind, ask.model) for w in self.registry.each_worker())


class PoolMember:
    """A member of the pool the model names, by the pool's own strategy (pools.py)."""

    def __init__(self, registry: Registry, pools: Pools) -> None:
        self.registry, self.pools = registry, pools

    def pick(self, ask: Ask) -> Choice | None:
        if not is_alias(ask.model):
            return None
        try:
            worker = self.pools.pick(self.pools.get(ask.model, ask.kind), self.registry.each_worker(), ask.request)
        except RealmError:  # deleted meanwhile: the dispatcher fails what waits for it
            return None
        return Choice(worker) if worker is not None else None

    def serves(self, ask: Ask) -> bool:
        return is_alias(ask.model)


class BestPeer:
    """A peer realm it may still be forwarded to, by route then score (peer_choice.py): not one it passed
    through or that failed it, and only while it has forwards left."""

    def __init__(self, registry: Registry, realm_id: str, max_hops: int,
                 routes: Mapping[str, Sequence[str]]) -> None:
        self.registry, self.realm_id, self.max_hops, self.routes = registry, realm_id, max_hops, routes

    def _allowed(self, ask: Ask) -> list[PeerExecutor]:
        hops_left = ask.route.hops_left if ask.route is not None else self.max_hops
        if hops_left <= 0:
            return []
        visited = set(ask.route.visited if ask.route is not None else ()) | set(ask.avoid) | {self.realm_id}
        return [p for p in self.registry.each_peer() if p.realm_id not in visited]

    def pick(self, ask: Ask) -> Choice | None:
        choice = pick_peer([p for p in self._allowed(ask) if p.free_slots], ask.kind, ask.model, self.routes)
        return Choice(choice.peer, choice.reason) if choice is not None else None

    def serves(self, ask: Ask) -> bool:
        wanted = "" if is_alias(ask.model) else ask.model
        return any(p.offer(ask.kind, wanted) is not None for p in self._allowed(ask))
