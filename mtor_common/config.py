"""All MTOR settings: defaults, the commented config file, and `MTOR_<SECTION>_<KEY>`
environment overrides.

The realm and the worker share this module (it imports nothing heavy) so that
`mtor up` has one file to read and every default is visible in it. Settings per
kind are one table entry per kind ([timeouts] chat, [costs.chat] base). Each
worker backend declares its own section in its own module (declare_section),
so that this module knows no backend.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

CONFIG_FILE = "mtor.toml"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def data_dir(given: str | None = None) -> Path:
    """The data dir: as given (--data-dir), else $MTOR_DATA_DIR, else ~/.mtor."""
    return Path(given or os.environ.get("MTOR_DATA_DIR") or "~/.mtor").expanduser()


def setting(default: Any, help: str) -> Any:
    """A field of a config section: its default and the comment the written file shows above it."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


_opt = setting


@dataclass
class RealmSection:
    name: str = _opt(socket.gethostname(), "Name of this realm, shown to callers and peers.")
    listen: str = _opt("127.0.0.1:7070",
                       "HOST:PORT the realm's gRPC server listens on (port 0 picks a free one).")
    max_message_bytes: int = _opt(64 * 1024 * 1024, "Largest gRPC message accepted, in bytes (transport limit).")
    max_payload_bytes: int = _opt(32 * 1024 * 1024,
                                  "Largest intent payload accepted, in bytes; larger ones get INVALID_ARGUMENT.")


@dataclass
class AuthSection:
    anonymous: str = _opt("loopback", "Calls without a token: on, off, or loopback (allowed only while realm.listen "
                          "is a loopback address). A wrong, revoked or expired token is refused either way.")


@dataclass
class TlsSection:
    cert_file: str = _opt("", "Realm: its certificate chain, a PEM file. Set it and key_file to serve TLS only; "
                          "leave both empty for plaintext. The certificate must name the address clients use "
                          "(for `mtor up`: IP 127.0.0.1 among its subjectAltNames).")
    key_file: str = _opt("", "Realm: the private key of cert_file, a PEM file.")
    client_ca_file: str = _opt("", "Realm: PEM CA certificate(s); set, mutual TLS: every client and worker must "
                               "present a certificate signed by it. Empty: clients need no certificate.")
    ca_file: str = _opt("", "Workers and the mtor command: PEM CA certificate(s) that sign the realm's certificate. "
                        "Set, they use TLS; empty, they use TLS with the system's roots only for a realm written "
                        "grpcs://HOST:PORT.")
    client_cert_file: str = _opt("", "Workers and the mtor command: their certificate chain, a PEM file, for a "
                                 "realm that requires mutual TLS (turns TLS on).")
    client_key_file: str = _opt("", "Workers and the mtor command: the private key of client_cert_file, a PEM file.")


@dataclass
class QueueSection:
    max_depth: int = _opt(100, "Intents waiting per kind before the queue is full; then Submit answers "
                          "RESOURCE_EXHAUSTED to a user holding max_depth / (users waiting) of them or more, "
                          "and to everyone at 2 x max_depth.")
    max_wait_s: float = _opt(300.0, "Longest an intent waits for a worker before it fails with "
                             "DEADLINE_EXCEEDED, in seconds.")


@dataclass
class HealthSection:
    keepalive_s: float = _opt(1.0, "How often the realm pings each connection to it (an HTTP/2 PING, answered by "
                              "gRPC's core, no Python on either side), in seconds.")
    keepalive_timeout_s: float = _opt(0.8, "A connection whose ping is not answered within this many seconds is "
                                      "closed: a worker that froze or lost power is out within keepalive_s + "
                                      "keepalive_timeout_s.")
    heartbeat_interval_s: float = _opt(15.0, "How often a worker reports its health when nothing in it changed (a "
                                       "change is reported at once; an unhealthy worker says so every second, "
                                       "and each time loses health points), in seconds.")
    missed_heartbeats: int = _opt(3, "Heartbeats a worker may miss before it is taken out: one whose connection "
                                  "still answers pings but whose program stopped (a hung event loop) goes this "
                                  "many to this many + 0.5 intervals after its last heartbeat.")
    peer_report_interval_s: float = _opt(0.5, "How often a peer realm reports its capacity when nothing changed; "
                                         "it is taken out after missed_heartbeats of them (peers are few: their "
                                         "reports are cheap).")
    readmit_after_s: float = _opt(10.0, "A blacklisted worker is readmitted (at health 50) by its first "
                                  "healthy heartbeat after this many seconds.")


@dataclass
class DispatchSection:
    max_attempts: int = _opt(3, "Attempts per intent when workers are lost mid-intent, the first included.")


WORKER_KINDS: tuple[str, ...] = ("chat", "transcribe", "speak", "imagine", "vision", "embed")
"""The kinds a worker serves, as mtor_client.kinds has them (this module imports no protobuf); the per-kind
sections have one entry for each."""


class PerKind:
    """A section with one entry per worker kind ([timeouts] chat = 120), read by kind."""

    def for_kind(self, kind: str) -> Any:
        return getattr(self, kind)


def _per_kind(name: str, entry: Callable[[str], Any], base: type = PerKind) -> type:
    """A dataclass `name` with one field per kind, each made by `entry(kind)`."""
    return dataclasses.make_dataclass(name, [(kind, Any, entry(kind)) for kind in WORKER_KINDS], bases=(base,))


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


TimeoutsSection = _per_kind("TimeoutsSection", lambda kind: _opt(
    300.0 if kind == "imagine" else 120.0, f"Longest a worker may spend on {_a(kind)} intent, in seconds."))


@dataclass
class Rates:
    """What a served intent of one kind costs: base + per_second x processing seconds."""
    base: float = _opt(0.01, "Charge per served intent, in the realm's billing unit.")
    per_second: float = _opt(0.001, "Charge per second of processing.")


class _Costs(PerKind):
    def rates(self, kind: str) -> tuple[float, float]:
        """(base, per second) for a kind the workers serve."""
        rates = self.for_kind(kind)
        return float(rates.base), float(rates.per_second)


CostsSection = _per_kind("CostsSection", lambda kind: field(default_factory=Rates, metadata={
    "help": f"What a served {kind} intent costs: base + per_second x processing seconds (queue wait is never "
            "billed, nor are failed or cancelled intents)."}), base=_Costs)


@dataclass
class QuotasSection:
    requests_per_minute: int = _opt(0, "Intents a user may submit per minute (sliding window); 0: no limit. "
                                    "Admin SetQuota sets it per user.")
    budget: float = _opt(0.0, "Cost a user may spend per budget period; 0: no limit. Admin SetQuota sets it per "
                         "user.")
    budget_period_s: float = _opt(86400.0, "Length of a budget period, in seconds (periods start at multiples of "
                                  "it since the Unix epoch, UTC).")


@dataclass
class StoreSection:
    result_ttl_s: float = _opt(86400.0, "How long finished intents and their results are kept, in seconds.")


@dataclass
class MetricsSection:
    listen: str = _opt("127.0.0.1:9470", "HOST:PORT of the realm's Prometheus endpoint, "
                       "http://HOST:PORT/metrics (port 0 picks a free one; empty: no metrics endpoint).")


@dataclass
class GatewaySection:
    listen: str = _opt("127.0.0.1:7080", "HOST:PORT the gateway (browser page, WebSocket bridge /ws, "
                       "OpenAI-compatible API /v1) serves HTTP on; port 0 picks a free one.")
    realm: str = _opt("", "HOST:PORT of the realm the gateway calls (grpcs://HOST:PORT for TLS; the [tls] client "
                      "settings apply); empty: this data dir's realm.listen.")
    origins: list[str] = _opt([], "Browser origins (e.g. https://app.example.org) allowed besides the gateway's "
                              "own, for the WebSocket bridge and CORS; others are refused before the upgrade.")
    max_frame_bytes: int = _opt(48 * 1024 * 1024, "Largest WebSocket frame accepted, in bytes (base64 audio and "
                                "images included); larger ones close the socket.")
    max_calls_per_socket: int = _opt(32, "Calls one WebSocket may have open at once; more get an error frame.")
    call_queue_depth: int = _opt(64, "Replies held for one call while its browser reads slowly; when full, the "
                                 "gateway stops reading that call from the realm until the browser catches up.")
    sse_keepalive_s: float = _opt(15.0, "OpenAI API streams: a comment line (': mtor waiting') every this many "
                                  "seconds, so that proxies keep a waiting request open; 0: none.")


@dataclass
class WorkerSection:
    realm: str = _opt("", "HOST:PORT of the realm a worker connects to (grpcs://HOST:PORT for TLS); empty: find "
                      "one on the local network (DNS-SD, see [discovery]).")
    realm_name: str = _opt("", "With realm empty: the name of the realm to join among those found; empty: the only "
                           "one found (several found: the worker names them and stops).")
    name: str = _opt(socket.gethostname(), "Worker name, unique within its realm.")
    backends: list[str] = _opt(["auto"], "Backends the worker runs: echo, llama, whisper, piper, bark, diffusers, "
                               "transformers, upstream; "
                               "auto = each model backend whose library and model are installed (echo when none "
                               "is).")
    load_models: str = _opt("start", "When backends load their models: start, or first_use.")
    max_concurrency: int = _opt(4, "Most intents the worker runs at once.")
    echo_delay_s: float = _opt(0.0, "Echo backend: pause before each streamed chunk, in seconds.")
    reconnect_max_s: float = _opt(5.0, "Longest pause between reconnection attempts, in seconds.")


@dataclass
class DiscoverySection:
    advertise: bool = _opt(True, "Realms and workers announce themselves on the local network (DNS-SD over "
                           "multicast DNS: _mtor._tcp and _mtor-worker._tcp); no secrets are announced.")
    interfaces: list[str] = _opt([], "Addresses or interface names (e.g. eth0) to announce and browse on; "
                                 "empty: every IPv4 interface.")
    browse_s: float = _opt(2.0, "How long `mtor discover` listens for announcements, and the longest a worker "
                           "without a realm listens before it says none was found and tries again, in seconds "
                           "(it joins as soon as its realm has answered).")
    seeds: list[str] = _opt([], "Unicast fallback for networks that drop multicast: realm addresses (HOST:PORT, "
                            "grpcs://HOST:PORT for TLS) asked directly, by a worker without a realm, by "
                            "`mtor discover` and by a realm looking for peer realms.")
    watch: bool = _opt(True, "The realm listens for the announcements of workers and other realms on the local "
                       "network and lists them in Admin ListNetwork.")


@dataclass
class FederationSection:
    max_hops: int = _opt(3, "Most realm-to-realm forwards an intent submitted here may take (the first "
                         "included); 0: never forward.")
    routes: list[str] = _opt([], "Preferred peer realms, as KEY=PEER,PEER where KEY is a model, a pool alias "
                             "($NAME) or a kind: the first listed peer that can take such an intent now gets it, "
                             "the others are its backups, before any other peer. A local worker that can take it "
                             "now still comes first.")

    def route_map(self) -> dict[str, tuple[str, ...]]:
        """routes as KEY -> peer names; ConfigError names a malformed entry. A name without "=" continues the
        entry before it, so that MTOR_FEDERATION_ROUTES="chat=C,B,speak=B" (split at commas) reads right."""
        out: dict[str, list[str]] = {}
        key = ""
        for token in (t.strip() for entry in self.routes for t in entry.split(",")):
            if "=" in token:
                if not token.partition("=")[0].strip():
                    raise ConfigError(f"federation.routes: {token!r} has no KEY before '='")
                key, _, token = (part.strip() for part in token.partition("="))
                out[key] = []
            if not token:
                continue
            if not key:
                raise ConfigError(f"federation.routes: {token!r} comes before any KEY=")
            out[key].append(token)
        for key, peers in out.items():
            if not peers:
                raise ConfigError(f"federation.routes: {key}= names no peer realm")
        return {key: tuple(peers) for key, peers in out.items()}


_DECLARED: dict[str, type] = {}


def declare_section(name: str, section: type) -> None:
    """Add the section [name] (a dataclass of setting() fields) to every Config from now on. For settings whose code
    sits above this module, a worker backend's: the code declares them, so that this module, which the realm
    shares, imports none of it, and the loader, the written file and MTOR_<NAME>_* still see them."""
    if name in _CORE or _DECLARED.get(name, section) is not section:
        raise ValueError(f"config section [{name}] is declared twice")
    _DECLARED[name] = section


@dataclass
class Config:
    realm: RealmSection = field(default_factory=RealmSection)
    auth: AuthSection = field(default_factory=AuthSection)
    tls: TlsSection = field(default_factory=TlsSection)
    queue: QueueSection = field(default_factory=QueueSection)
    health: HealthSection = field(default_factory=HealthSection)
    dispatch: DispatchSection = field(default_factory=DispatchSection)
    timeouts: TimeoutsSection = field(default_factory=TimeoutsSection)  # type: ignore[valid-type]
    costs: CostsSection = field(default_factory=CostsSection)  # type: ignore[valid-type]
    quotas: QuotasSection = field(default_factory=QuotasSection)
    store: StoreSection = field(default_factory=StoreSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    gateway: GatewaySection = field(default_factory=GatewaySection)
    worker: WorkerSection = field(default_factory=WorkerSection)
    discovery: DiscoverySection = field(default_factory=DiscoverySection)
    federation: FederationSection = field(default_factory=FederationSection)
    declared: dict[str, Any] = field(default_factory=dict)
    """The declared sections (declare_section) by name; read them with section()."""

    def __post_init__(self) -> None:
        self.sections()

    def section(self, name: str) -> Any:
        """The section [name], core or declared; KeyError for one that is neither."""
        if name in _CORE:
            return getattr(self, name)
        if name not in self.declared:
            self.declared[name] = _DECLARED[name]()  # declared after this Config was made
        return self.declared[name]

    def sections(self) -> dict[str, Any]:
        """Every section by name, in the file's order: the core ones, then the declared ones."""
        return {name: self.section(name) for name in (*_CORE, *_DECLARED)}


_CORE: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Config) if f.name != "declared")


class ConfigError(ValueError):
    """A config file or environment value that cannot be used."""


def _coerce(value: Any, like: Any, where: str) -> Any:
    try:
        if isinstance(like, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(like, list):
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return [str(v) for v in value]
        return type(like)(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: cannot read {value!r} as {type(like).__name__}") from None


RENAMED: dict[str, tuple[str, ...]] = {
    **{f"timeouts.{kind}_s": (f"timeouts.{kind}",) for kind in WORKER_KINDS},
    **{f"costs.{kind}_{rate}": (f"costs.{kind}.{rate}",) for kind in WORKER_KINDS for rate in ("base", "per_second")},
    "costs.base": tuple(f"costs.{kind}.base" for kind in WORKER_KINDS),
    "costs.per_second": tuple(f"costs.{kind}.per_second" for kind in WORKER_KINDS),
}
"""Keys of earlier versions -> the keys that replaced them, so that an mtor.toml (or an MTOR_* variable) of an
earlier version still works: its value goes to each new key not set itself, the narrower old keys first."""


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"costs": {"chat": {"base": 1}}} -> {"costs.chat.base": 1}."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    for old in sorted((k for k in values if k in RENAMED), key=lambda k: len(RENAMED[k])):
        value = values.pop(old)
        for new in RENAMED[old]:
            values.setdefault(new, value)
    return values


def apply(cfg: Config, values: Mapping[str, Mapping[str, Any]], source: str) -> None:
    """Set values given as {section: {key: value}} (tables nested as in TOML); unknown names are errors."""
    for section_name in values:
        if section_name not in cfg.sections():
            raise ConfigError(f"{source}: unknown section [{section_name}]")
    for path, value in _renamed(_flatten(values)).items():
        section_name, *keys = path.split(".")
        node = cfg.section(section_name)
        for key in keys[:-1]:
            node = getattr(node, key, None)
        if not keys or not dataclasses.is_dataclass(node) or not hasattr(node, keys[-1]) \
                or dataclasses.is_dataclass(getattr(node, keys[-1])):
            raise ConfigError(f"{source}: unknown key {path}")
        setattr(node, keys[-1], _coerce(value, getattr(node, keys[-1]), f"{source}: {path}"))


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, dataclasses.Field[Any], Any]]:
    """(dotted path, field, value) of every setting under a section, nested tables included."""
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", item, value


def _variable(path: str) -> str:
    return "MTOR_" + path.replace(".", "_").upper()


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`MTOR_QUEUE_MAX_DEPTH=5` -> {"queue": {"max_depth": "5"}}, `MTOR_COSTS_CHAT_BASE=1` -> {"costs": {"chat":
    {"base": "1"}}}, for known keys (and the renamed keys of earlier versions) only."""
    paths = [path for name, section in Config().sections().items() for path, _, _ in _leaves(section, f"{name}.")]
    variables: dict[str, str] = {}
    for path in [*paths, *RENAMED]:  # an old key spelled as a new one (costs.chat_base) is the new one
        variables.setdefault(_variable(path), path)
    out: dict[str, dict[str, Any]] = {}
    for var, path in variables.items():
        if var in environ:
            section, *keys = path.split(".")
            node = out.setdefault(section, {})
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = environ[var]
    return out


def render(cfg: Config) -> str:
    """The config as a commented TOML file with every value written out."""
    lines = ["# MTOR configuration. Every setting is shown with its value; edit and restart.",
             "# Environment variables MTOR_<SECTION>_<KEY> (e.g. MTOR_QUEUE_MAX_DEPTH, MTOR_COSTS_CHAT_BASE) "
             "override this file.", ""]
    for name, section in cfg.sections().items():
        lines += _table(name, section, "")
    return "\n".join(lines)


def _table(name: str, node: Any, help: str) -> list[str]:
    """[name] with its keys, each under its comment, then its nested tables as [name.key]."""
    fields = dataclasses.fields(node)
    tables = [f for f in fields if dataclasses.is_dataclass(getattr(node, f.name))]
    lines = [f"# {help}"] if help else []
    if len(tables) < len(fields) or not tables:
        lines.append(f"[{name}]")
        for item in (f for f in fields if f not in tables):
            lines.append(f"# {item.metadata['help']}")
            lines.append(f"{item.name} = {_toml(getattr(node, item.name))}")
        lines.append("")
    for item in tables:
        lines += _table(f"{name}.{item.name}", getattr(node, item.name), item.metadata["help"])
    return lines


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None


def load(data_dir: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read `data_dir/mtor.toml`, creating the dir and a full default file on first run."""
    environ = os.environ if environ is None else environ
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_FILE
    cfg = Config()
    if path.exists():
        apply(cfg, _parse(path), str(path))
    else:
        path.write_text(render(cfg))
    apply(cfg, env_overrides(environ), "environment")
    return cfg


def load_section(data_dir: Path, name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One section (e.g. "tls") of `data_dir/mtor.toml`, if the file is there, with its MTOR_<NAME>_*
    variables. Writes nothing and reads no other section: a client command must not trip over realm
    settings it does not use (or that an older version wrote)."""
    environ = os.environ if environ is None else environ
    cfg = Config()
    path = data_dir / CONFIG_FILE
    if path.exists():
        apply(cfg, {name: _parse(path).get(name, {})}, str(path))
    apply(cfg, {name: env_overrides(environ).get(name, {})}, "environment")
    return cfg.section(name)
