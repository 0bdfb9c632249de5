"""An intent from acceptance to its one terminal event: the book that holds live intents and writes out their
transitions, intake (what is accepted), converse (a composer of other intents) and recovery after a restart."""
