"""The edge gateway: browsers (WebSocket bridge, /ws) and OpenAI-compatible tools (/v1) reach a realm through it.

A client of the realm like any other, over one gRPC channel; it keeps no state of its own, so several can run
side by side and any can restart. The realm never imports it."""
