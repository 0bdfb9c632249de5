"""Which peer realm gets an intent no local worker can take now.

Only peers that report the kind (and model) with a free slot are candidates; an intent none can take
waits in this realm's queue and is dispatched again at the next capacity report. Realms named by a route
for the intent's model or kind come first, in the route's order (the first that can take it; the others
are its backups). Otherwise the highest score wins:

    score = 10 x min(free slots, 8) - 10 x queue depth - 25 x hops - (100 - health) / 2
            - round trip in ms - 100 x (cost base + cost per second)

free slots, queue depth, hops and costs as the peer last reported them for the kind; health is the
realm's own score of the peer (outcomes of what it forwarded there); the round trip is that of the
peer's last Hello. Ties go to the peer with fewer intents running there now.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .executor import Offer, PeerExecutor


@dataclass(frozen=True)
class PeerChoice:
    peer: PeerExecutor
    reason: str
    """For the `started` event: why this realm, e.g. "route chat=B,C" or the score's terms."""


def score(peer: PeerExecutor, offer: Offer) -> float:
    return (10 * min(offer.free_slots, 8) - 10 * offer.queue_depth - 25 * offer.hops
            - (100 - peer.health.score) / 2 - peer.rtt_ms - 100 * (offer.cost_base + offer.cost_per_second))


def _terms(peer: PeerExecutor, offer: Offer) -> str:
    return (f"{offer.free_slots} free, queue {offer.queue_depth}, {offer.hops} hop(s) beyond, health "
            f"{peer.health.score}, rtt {peer.rtt_ms:.1f} ms, cost {offer.cost_base:g} + {offer.cost_per_second:g}/s")


def pick_peer(peers: Iterable[PeerExecutor], kind: str, model: str,
              routes: Mapping[str, Sequence[str]]) -> PeerChoice | None:
    """The peer to forward to, or None when none can take it now. `routes`: model, pool alias or kind ->
    peer names in order of preference (config federation.routes). A pool alias ($NAME) is this realm's own:
    a peer gets such an intent for any model it serves."""
    able = {}
    wanted = "" if model.startswith("$") else model
    for peer in peers:
        offer = peer.offer(kind, wanted)
        if offer is not None and offer.free_slots > 0 and peer.available:
            able[peer.name] = (peer, offer)
    if not able:
        return None
    for key in (model, kind):
        route = routes.get(key) if key else None
        for name in route or ():
            if name in able:
                peer, offer = able[name]
                return PeerChoice(peer, f"route {key}={','.join(route)}: {name} ({_terms(peer, offer)})")
    peer, offer = max(able.values(), key=lambda po: (score(*po), -len(po[0].running)))
    return PeerChoice(peer, f"best score {score(peer, offer):.0f} of {len(able)} peer(s): {_terms(peer, offer)}")
