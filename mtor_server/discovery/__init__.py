"""The realm's side of DNS-SD: its announcement (realm.py) and what it sees of the network (network.py); the
primitives they use are shared, in mtor_common.discovery."""
