"""Fuzzing every method of every service a real realm serves, enumerated from the generated descriptors (not a
hand list): random bytes, truncated and bit-flipped messages, messages with extreme numbers and odd strings,
with no token, a user's, the sysop's, a worker join token and a peer realm's. The realm stays up, answers
INVALID_ARGUMENT for what does not decode or holds a number no field can use, never UNKNOWN or INTERNAL, logs
no traceback nor any error, serves a normal intent afterwards, and once warm does not grow in memory over an
identical round.

Fuzzed sysop calls may ban, remove, revoke and clear: every string the fuzzer writes is one of STRINGS, and
none of them names a user, worker, peer or token prefix the test relies on, so what it checks afterwards
(the checker's intent, the sysop's listing) stands whatever the fuzzed calls did."""
from __future__ import annotations

import importlib
import math
import pkgutil
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from harness import JOIN_TOKEN, SYSOP_TOKEN
from mtor_client import Client
from mtor_client._proto.mtor import v1
from test_metrics import metrics_url, scrape

from mtor_server.server import SERVICES

SEED = 20240612
CALLS_PER_METHOD = 32
"""Per method and round: some 1500 calls a round over 47 methods."""
ROUNDS = 3
"""The same calls each round: the first warms up what is made once (caches, pools), the last two are compared."""
STREAM_TIMEOUT_S = 0.5
"""A streaming call that is not refused may run until its deadline (WatchRealm, Notices, Health.Watch...)."""
PROMPT_TIMEOUT_S = 10.0
"""Unary calls, and calls that must be refused at once (a realm under load still answers within this)."""
IN_FLIGHT = 24
RSS_GROWTH_LIMIT_KIB = 3 * 1024
"""What an identical round may add to the realm's resident memory once it is warm (allocator noise, what the
fuzzed sysop calls create: tokens, audit entries). Measured: -1 to +1.2 MiB; a leak of 2 KiB a call shows."""

NAMES = ("fz-1", "fz.2@x", "$fz3", "chat")
"""Names a plausible message carries: concurrent calls then meet on the same user, pool, worker or peer."""
STRINGS = (*NAMES, "", " ", "\x00", "a\x00b", "\u202eevil\u202c", "\u200f\u200e", "🦀🧨👩‍👩‍👧", "e\u0301", "\ufeff",
           "ᚠᛇᚻ᛫", "\U0010ffff", "x" * 70_000, "%s%n", "'; DROP TABLE users; --")
PLAUSIBLE_FLOATS = (0.0, 0.5, 1.0, 2.0)
FINITE = (*PLAUSIBLE_FLOATS, -0.0, 5e-324, -1.0, 1e12, 3.5e38, 1e300, -1e300)  # 3.5e38 and up: inf as a float
NOT_FINITE = (math.inf, -math.inf, math.nan)
_INT_RANGES = {
    **dict.fromkeys((FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32),
                    (-2**31, 2**31 - 1)),
    **dict.fromkeys((FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32), (0, 2**32 - 1)),
    **dict.fromkeys((FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64),
                    (-2**63, 2**63 - 1)),
    **dict.fromkeys((FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64), (0, 2**64 - 1)),
}
_FLOAT_TYPES = (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE)
_TIMESTAMP = "google.protobuf.Timestamp"
TIMESTAMP_S = (-62135596800, 253402300799)  # 0001-01-01 and 9999-12-31T23:59:59, what a Timestamp holds
TIMES = ((0, 0), (1_700_000_000, 999_999_999), (TIMESTAMP_S[0], 0), (TIMESTAMP_S[1], 999_999_999))
BAD_TIMES = ((TIMESTAMP_S[0] - 1, 0), (TIMESTAMP_S[1] + 1, 0), (2**63 - 1, 0), (0, 10**9), (0, -1))


@dataclass(frozen=True)
class Method:
    path: str
    request: type[Message]
    streams_in: bool
    streams_out: bool


def served_methods() -> list[Method]:
    """Every method of every mtor.v1 service in the generated modules, and of the standard health and
    reflection services the realm also serves."""
    modules = [importlib.import_module(f"{v1.__name__}.{m.name}") for m in pkgutil.iter_modules(v1.__path__)
               if m.name.endswith("_pb2")]
    return [Method(f"/{service.full_name}/{m.name}", message_factory.GetMessageClass(m.input_type),
                   m.client_streaming, m.server_streaming)
            for module in (*modules, health_pb2, reflection_pb2)
            for service in module.DESCRIPTOR.services_by_name.values() for m in service.methods]


@dataclass(frozen=True)
class Call:
    method: Method
    payloads: tuple[bytes, ...]
    token: str | None
    refused: str | None
    """What the realm must refuse it for: "undecodable", "number", or None (any clear status)."""


class Fuzzer:
    """Seeded payloads: random bytes; messages of one of three flavors (plausible: small numbers, known enum
    values and names, so that calls get past the checks and meet in the handlers; extreme: huge and tiny
    numbers, odd strings; anything: NaN, infinities and Timestamps out of range too); and such messages
    truncated or bit-flipped."""

    FLAVORS = ("plausible", "extreme", "anything")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.flavor = "plausible"

    def payload(self, request: type[Message]) -> bytes:
        mode = self.rng.choice(("random", "message", "message", "truncated", "flipped"))
        if mode == "random":
            return self.rng.randbytes(self.rng.randint(1, 48))
        self.flavor = self.rng.choice(self.FLAVORS)
        data = self.message(request.DESCRIPTOR, 0).SerializeToString()
        if mode == "truncated" and data:
            return data[:self.rng.randrange(len(data))]
        if mode == "flipped" and data:
            flipped = bytearray(data)
            for _ in range(self.rng.randint(1, 3)):
                flipped[self.rng.randrange(len(flipped))] ^= 1 << self.rng.randrange(8)
            return bytes(flipped)
        return data

    def message(self, descriptor: Descriptor, depth: int) -> Message:
        message = message_factory.GetMessageClass(descriptor)()
        if descriptor.full_name == _TIMESTAMP:
            message.seconds, message.nanos = self.rng.choice(TIMES + BAD_TIMES if self.flavor == "anything" else TIMES)
            return message
        chosen = {self.rng.choice(o.fields).name for o in descriptor.oneofs if o.fields}
        for field in descriptor.fields:
            in_oneof = field.containing_oneof is not None
            if (in_oneof and field.name not in chosen) or (not in_oneof and self.rng.random() < 0.3):
                continue
            if field.message_type is not None and depth >= 3:
                continue
            if field.is_repeated:
                for _ in range(self.rng.randint(0, 3)):
                    self._append(message, field, depth)
            elif field.message_type is not None:
                getattr(message, field.name).CopyFrom(self.message(field.message_type, depth + 1))
            else:
                setattr(message, field.name, self.scalar(field))
        return message

    def _append(self, message: Message, field: FieldDescriptor, depth: int) -> None:
        values = getattr(message, field.name)
        if field.message_type is not None:
            values.add().CopyFrom(self.message(field.message_type, depth + 1))
        else:
            values.append(self.scalar(field))

    def scalar(self, field: FieldDescriptor) -> object:
        plausible, anything = self.flavor == "plausible", self.flavor == "anything"
        if field.type in _FLOAT_TYPES:
            return self.rng.choice(PLAUSIBLE_FLOATS if plausible else FINITE + NOT_FINITE if anything else FINITE)
        if field.type in _INT_RANGES:
            low, high = _INT_RANGES[field.type]
            extremes = (0, 1, low, high, high - 1, self.rng.randint(low, high))
            return self.rng.choice((1, 1, 2, 3) if plausible else extremes)
        if field.type == FieldDescriptor.TYPE_ENUM:
            known = tuple(v.number for v in field.enum_type.values)
            return self.rng.choice(known if plausible else (*known, 2**31 - 1, -1))
        if field.type == FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        if field.type == FieldDescriptor.TYPE_STRING:
            return self.rng.choice(NAMES if plausible else STRINGS)
        return self.rng.randbytes(self.rng.choice((0, 3, 200)))  # bytes


def unusable_number(message: Message) -> bool:
    """Whether a NaN, an infinity or a Timestamp out of range is anywhere in the message (the test's own
    reading of what the realm must refuse)."""
    if message.DESCRIPTOR.full_name == _TIMESTAMP:
        return not (TIMESTAMP_S[0] <= message.seconds <= TIMESTAMP_S[1] and 0 <= message.nanos < 10**9)
    for field, value in message.ListFields():
        for item in (value if field.is_repeated else (value,)):
            if field.type in _FLOAT_TYPES and not math.isfinite(item):
                return True
            if field.message_type is not None and unusable_number(item):
                return True
    return False


def refusal(method: Method, payload: bytes) -> str | None:
    try:
        request = method.request.FromString(payload)
    except DecodeError:
        return "undecodable"
    return "number" if unusable_number(request) else None


def plan(methods: list[Method], tokens: dict[str, str | None]) -> list[Call]:
    """CALLS_PER_METHOD calls of each method, shuffled. `tokens` has "none", "user", "sysop", "join" and "peer",
    and by service name the one a service is meant for (else a user's): each call carries one of them, the
    one meant for its service more often, so that calls get past the token checks too."""
    fuzzer = Fuzzer(SEED)
    anyone = [tokens[k] for k in ("none", "user", "sysop", "join", "peer")]
    calls = []
    for method in methods:
        service = method.path.split("/")[1]
        meant = tokens.get(service, tokens["user"])
        for _ in range(CALLS_PER_METHOD):
            count = fuzzer.rng.randint(1, 3) if method.streams_in else 1
            payloads = tuple(fuzzer.payload(method.request) for _ in range(count))
            token = fuzzer.rng.choice((*anyone, meant, meant))
            calls.append(Call(method, payloads, token, refusal(method, payloads[0])))
    fuzzer.rng.shuffle(calls)
    return calls


def send(channel: grpc.Channel, call: Call) -> tuple[grpc.StatusCode, str]:
    """One call with the payloads as they are (no serializer); its status code and details. (grpc's blocking
    client: the asyncio one can lose a status the server sent while it was still writing a request stream,
    and read "Internal error from Core" instead.)"""
    method = call.method
    metadata = (("authorization", f"Bearer {call.token}"),) if call.token else ()
    streaming = method.streams_in or method.streams_out
    timeout = STREAM_TIMEOUT_S if streaming and call.refused is None else PROMPT_TIMEOUT_S
    requests = iter(call.payloads) if method.streams_in else call.payloads[0]
    try:
        if method.streams_in and method.streams_out:
            for _ in channel.stream_stream(method.path)(requests, timeout=timeout, metadata=metadata):
                pass
        elif method.streams_in:
            channel.stream_unary(method.path)(requests, timeout=timeout, metadata=metadata)
        elif method.streams_out:
            for _ in channel.unary_stream(method.path)(requests, timeout=timeout, metadata=metadata):
                pass
        else:
            channel.unary_unary(method.path)(requests, timeout=timeout, metadata=metadata)
    except grpc.RpcError as e:
        return e.code(), e.details() or ""
    return grpc.StatusCode.OK, ""


def fuzz_round(address: str, calls: list[Call]) -> list[str]:
    """Run the calls, IN_FLIGHT at a time; what went wrong, one line per call."""
    with grpc.insecure_channel(address) as channel, ThreadPoolExecutor(IN_FLIGHT) as pool:
        answers = pool.map(lambda call: wrong(call, *send(channel, call)), calls)
        return [w for w in answers if w is not None]


def wrong(call: Call, code: grpc.StatusCode, details: str) -> str | None:
    """Why this status is not a clear answer to this call; None when it is."""
    said = (f"{call.method.path} ({call.refused or 'usable'}, {len(call.payloads[0])} bytes): "
            f"{code.name} {details[:120]!r}")
    if code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED):
        return said
    if call.refused is not None and code != grpc.StatusCode.INVALID_ARGUMENT:
        return said
    if call.refused == "undecodable" and not details.startswith(
            f"the request does not decode as {call.method.request.DESCRIPTOR.full_name}"):
        return said
    return None


def rss_kib(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1))


def test_the_methods_fuzzed_are_the_services_the_realm_serves():
    fuzzed = {m.path.split("/")[1] for m in served_methods()}
    assert set(SERVICES) <= fuzzed
    assert fuzzed - set(SERVICES) == {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def test_fuzzed_requests_get_clear_answers_and_break_nothing(cluster):
    realm = cluster.realm()
    cluster.worker(realm, "w1")
    url = metrics_url(realm)
    with realm.admin() as admin:
        admin.create_user("checker")
        checker = admin.create_token("checker").token
        admin.create_user("fz-user")
        user = admin.create_token("fz-user").token
        peer = admin.add_peer("fz-peer").token
    methods = served_methods()
    calls = plan(methods, {"none": None, "user": user, "sysop": SYSOP_TOKEN, "join": JOIN_TOKEN, "peer": peer,
                           "mtor.v1.Admin": SYSOP_TOKEN, "mtor.v1.Peers": SYSOP_TOKEN,
                           "mtor.v1.WorkerLink": JOIN_TOKEN, "mtor.v1.Federation": peer})
    assert sum(c.refused is not None for c in calls) > len(calls) // 4  # the plan does test refusals

    began = time.monotonic()
    wrong_answers, rss = [], []
    for _ in range(ROUNDS):
        wrong_answers += fuzz_round(realm.address, calls)
        assert realm.proc.alive(), realm.proc.output()[-3000:]
        rss.append(rss_kib(realm.proc.popen.pid))
    minutes = (time.monotonic() - began) // 60 + 1

    assert wrong_answers == [], "\n".join(wrong_answers[:20])
    log = realm.proc.output()
    assert "Traceback" not in log, log[log.index("Traceback") - 500:][:4000]
    assert not re.search(r" (ERROR|CRITICAL) ", log), re.findall(r".* (?:ERROR|CRITICAL) .*", log)[:10]
    assert log.count("did not decode") <= len(methods) * minutes  # one line per method a minute at most
    counted = scrape(url)
    assert counted.series("mtor_rpc_failures_total") == []
    refused = sum(v for _, v in counted.series("mtor_rpc_refused_total", reason="undecodable"))
    assert refused >= ROUNDS * sum(c.refused == "undecodable" for c in calls)
    with Client(realm.address, token=checker) as client:
        assert client.chat("still here", timeout=20).text == "echo: still here"
    with realm.admin() as admin:
        assert any(t.user == "checker" for t in admin.tokens())
    growth = rss[-1] - rss[-2]
    assert growth < RSS_GROWTH_LIMIT_KIB, f"the realm grew by {growth} KiB over an identical round ({rss} KiB)"
