"""Federation: realms linked by authenticated links over which intents are forwarded.

A peer realm whose link is up is, to this realm's scheduler, a worker (federation.peer_worker): its
capacity reports are its heartbeats, a forward is an assignment, and requeueing, the one-result rule,
cancels, timeouts and accounting are the realm's own. The serving side is federation.service; the
sysop's side federation.admin; what both realms record, federation.usage.
"""

PROTOCOL = 1
"""Federation protocol revision (FederationHello.protocol); peers of another are refused."""
