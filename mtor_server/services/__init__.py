"""gRPC servicers: thin adapters from the wire to the Realm."""
