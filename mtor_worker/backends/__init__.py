"""Backend registry: backend name -> class, imported only when selected.

Heavy model libraries (torch, llama.cpp, whisper) live in the backend modules,
so a worker that runs only `echo` never imports them. To add a backend, add
its "module:Class" here.
"""
from __future__ import annotations

import importlib

from mtor_server.config import WorkerSection
from mtor_worker.backends.base import Backend, BackendError, BlockingBackend, Capability, Job

__all__ = ["Backend", "BackendError", "BlockingBackend", "Capability", "Job",
           "create_backend", "known_backends"]

_REGISTRY: dict[str, str] = {
    "echo": "mtor_worker.backends.echo:EchoBackend",
}


def known_backends() -> list[str]:
    """Names accepted by create_backend, sorted."""
    return sorted(_REGISTRY)


def create_backend(name: str, settings: WorkerSection) -> Backend:
    """Import the named backend's module and construct it (no model loading yet)."""
    key = name.strip().lower()
    target = _REGISTRY.get(key)
    if target is None:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(known_backends())}")
    module_name, _, class_name = target.partition(":")
    backend = getattr(importlib.import_module(module_name), class_name)(settings)
    if not isinstance(backend, Backend):
        raise TypeError(f"{target} is not a Backend")
    return backend
