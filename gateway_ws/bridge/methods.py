"""The methods the bridge serves, found in protobuf's descriptor pool: a method added to an allow-listed service's
proto is callable with no gateway change."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

# imported so that their descriptors are in the default pool
from mtor_client._proto.mtor.v1 import (  # noqa: F401
    account_pb2,
    admin_pb2,
    intent_pb2,
    intents_pb2,
    peers_pb2,
    realm_pb2,
)

SERVICES = frozenset({"mtor.v1.Intents", "mtor.v1.Account", "mtor.v1.RealmInfo", "mtor.v1.Admin", "mtor.v1.Peers"})
"""What browsers may call (the realm still judges each call); WorkerLink and Federation are for workers and realms."""

INTENT_EVENT = intent_pb2.IntentEvent.DESCRIPTOR.full_name
SUBMIT = "mtor.v1.Intents/Submit"


class MethodError(Exception):
    """A method the bridge does not serve, or a request that does not parse: INVALID_ARGUMENT, naming why."""


@dataclass(frozen=True)
class Method:
    name: str
    """Full name, e.g. "mtor.v1.Intents/Submit"."""
    descriptor: MethodDescriptor

    @property
    def streaming(self) -> bool:
        return self.descriptor.server_streaming

    @property
    def follows_intent(self) -> bool:
        """Its replies are one intent's events (Submit, Watch): `cancel` may ask to cancel that intent."""
        return self.descriptor.output_type.full_name == INTENT_EVENT

    @property
    def creates_intent(self) -> bool:
        """The intent it follows was started by this call: a closed socket cancels it."""
        return self.name == SUBMIT

    def request(self, value: Any) -> Message:
        """The request from its canonical JSON (camelCase or proto field names; bytes as base64)."""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise MethodError(f"request of {self.name} must be a JSON object, not {type(value).__name__}")
        message = message_factory.GetMessageClass(self.descriptor.input_type)()
        try:
            return json_format.ParseDict(value, message)
        except json_format.ParseError as e:
            raise MethodError(f"request of {self.name} does not parse: {e}") from None
        except RecursionError:
            raise MethodError(f"request of {self.name} is nested too deeply") from None

    def rpc(self, channel: grpc.aio.Channel) -> grpc.aio.UnaryUnaryMultiCallable | grpc.aio.UnaryStreamMultiCallable:
        request = message_factory.GetMessageClass(self.descriptor.input_type)
        reply = message_factory.GetMessageClass(self.descriptor.output_type)
        make = channel.unary_stream if self.streaming else channel.unary_unary
        return make(f"/{self.name}", request_serializer=request.SerializeToString,
                    response_deserializer=reply.FromString)


def to_json(message: Message) -> dict[str, Any]:
    """A reply in canonical JSON: camelCase names, enums by name, 64-bit integers as strings, bytes as base64,
    fields at their default value left out."""
    return json_format.MessageToDict(message)


def find(name: Any) -> Method:
    """The method called "package.Service/Method", if the bridge serves it."""
    if not isinstance(name, str) or name.count("/") != 1:
        raise MethodError(f"method must be a string \"package.Service/Method\", e.g. \"{SUBMIT}\"")
    service_name, method_name = name.split("/")
    if service_name not in SERVICES:
        raise MethodError(f"unknown method {name}: the bridge serves {', '.join(sorted(SERVICES))}")
    service = descriptor_pool.Default().FindServiceByName(service_name)
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise MethodError(f"unknown method {name}: {service_name} has no method {method_name}")
    if method.client_streaming:
        raise MethodError(f"{name} streams requests; the bridge serves unary and server-streaming methods only")
    return Method(name, method)
