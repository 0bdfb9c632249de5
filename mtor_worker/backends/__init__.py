"""Backend registry: backend name -> class, imported only when selected.

Heavy model libraries (torch, llama.cpp, whisper) live in the backend modules,
so a worker that runs only `echo` never imports them. To add a backend, add
its "module:Class" here. Importing this package declares each backend's own
config section (`Backend.section`) to the config loader: the backend modules
import no model library until a model loads.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Callable

from mtor_common.config import Config, declare_section
from mtor_worker import starter
from mtor_worker.backends.base import Backend, BackendError, BlockingBackend, Capability, Job

__all__ = ["Backend", "BackendError", "BlockingBackend", "Capability", "Job",
           "create_backend", "known_backends", "resolve_backends"]

_REGISTRY: dict[str, str] = {
    "echo": "mtor_worker.backends.echo:EchoBackend",
    "llama": "mtor_worker.backends.llama:LlamaBackend",
    "whisper": "mtor_worker.backends.whisper:WhisperBackend",
    "piper": "mtor_worker.backends.piper:PiperBackend",
    "bark": "mtor_worker.backends.bark:BarkBackend",
    "diffusers": "mtor_worker.backends.diffusion:DiffusersBackend",
    "transformers": "mtor_worker.backends.vision:VisionBackend",
    "upstream": "mtor_worker.backends.upstream:UpstreamBackend",
}
AUTO = "auto"
# model backends and the library each needs (its optional extra), in the order `auto` tries them
# (bark before piper: with a [bark] model configured, it is the default speak voice, as in the original)
_LIBRARIES: dict[str, str] = {"llama": "llama_cpp", "whisper": "faster_whisper", "bark": "transformers",
                              "piper": "piper", "diffusers": "diffusers", "transformers": "transformers",
                              "upstream": "httpx2"}
# the starter model each falls back to when its config names none
_STARTER: dict[str, Callable[[], Path | None]] = {"llama": starter.chat_model, "whisper": starter.whisper_model,
                                                  "piper": starter.piper_voice}


def _backend_class(name: str) -> type:
    module_name, _, class_name = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def declare_sections() -> None:
    """Declare each backend's own section ([llama], ...) so that mtor.toml and MTOR_<NAME>_* have it."""
    for name in _REGISTRY:
        if (section := _backend_class(name).section) is not None:
            declare_section(name, section)


def _has_model(backend: str, cfg: Config) -> bool:
    section = cfg.section(backend)
    configured = getattr(section, "model", "") or getattr(section, "voice", "") or getattr(section, "url", "")
    return bool(configured) or (backend in _STARTER and _STARTER[backend]() is not None)


def resolve_backends(names: list[str], cfg: Config) -> list[str]:
    """Expand `auto` into the model backends whose library and model are installed (echo when none is)."""
    out: list[str] = []
    for name in (n.strip().lower() for n in names):
        if name == AUTO:
            expanded = [b for b, lib in _LIBRARIES.items()
                        if importlib.util.find_spec(lib) and _has_model(b, cfg)] or ["echo"]
        else:
            expanded = [name]
        out += [b for b in expanded if b not in out]
    return out


def known_backends() -> list[str]:
    """Names accepted by create_backend (and `auto`), sorted."""
    return sorted([*_REGISTRY, AUTO])


def create_backend(name: str, cfg: Config) -> Backend:
    """Import the named backend's module and construct it with its config section (no model loading yet)."""
    key = name.strip().lower()
    target = _REGISTRY.get(key)
    if target is None:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(known_backends())}")
    backend = _backend_class(key)(cfg.worker, cfg.sections().get(key))
    if not isinstance(backend, Backend):
        raise TypeError(f"{target} is not a Backend")
    return backend


declare_sections()
