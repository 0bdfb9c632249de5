"""The gateway's one gRPC channel to its realm. Every call carries its own caller's token: the realm stays
the only judge of who may do what."""
from __future__ import annotations

from dataclasses import dataclass

import grpc
from mtor_client import TLS
from mtor_client.channels import aio_channel, resolve

Metadata = tuple[tuple[str, str], ...]


@dataclass
class RealmLink:
    channel: grpc.aio.Channel

    @classmethod
    def open(cls, target: str, tls: TLS | None = None) -> "RealmLink":
        """A channel for the running event loop (grpc.aio channels belong to the loop they are made in);
        `target`: HOST:PORT, or grpcs://HOST:PORT for TLS."""
        return cls(aio_channel(resolve(target, "", None, tls)))

    @staticmethod
    def metadata(token: str | None) -> Metadata:
        """The call metadata for a caller's bearer token; none for an anonymous caller."""
        return (("authorization", f"Bearer {token}"),) if token else ()

    async def close(self) -> None:
        await self.channel.close()
