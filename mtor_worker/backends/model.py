"""A blocking backend around one model file: resolved from config or the
starter models, loaded once (at start or on first use) and kept warm."""
from __future__ import annotations

import abc
import logging
import threading
from pathlib import Path
from typing import Any

import grpc

from mtor_common.config import setting
from mtor_worker.backends.base import BackendError, BlockingBackend, Capability

log = logging.getLogger("mtor.worker")


class ModelBackend(BlockingBackend):
    """Subclasses say where the model is (`locate`), how to load it
    (`load_model`) and which kind they serve (`kind`)."""

    kind: str = ""

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self.path: Path | None = None
        self.model_name = ""
        self._model: Any = None
        self._loading = threading.Lock()
        self._turn = threading.Lock()  # for models that must not run two jobs at once

    @abc.abstractmethod
    def locate(self) -> Path:
        """The model's path; raise with what to install or configure when there is none."""

    @abc.abstractmethod
    def load_model(self, path: Path) -> Any:
        """Load the model (blocking, heavy libraries imported here)."""

    def default_name(self, path: Path) -> str:
        """The name callers use when config gives none: the file name without its suffix."""
        return path.stem

    def capabilities(self) -> list[Capability]:
        return [Capability(kind=self.kind, models=[self.model_name])]

    def load_blocking(self) -> None:
        self.path = self.locate()
        self.model_name = getattr(self.options, "name", "") or self.default_name(self.path)
        if self.settings.load_models != "first_use":
            self.model()

    def model(self) -> Any:
        """The loaded model, loading it now if it is not yet (thread-safe)."""
        with self._loading:
            if self._model is None:
                assert self.path is not None, "load() first"
                try:
                    self._model = self.load_model(self.path)
                except BackendError:
                    raise
                except Exception as e:
                    raise BackendError(grpc.StatusCode.FAILED_PRECONDITION,
                                       f"{self.name}: could not load {self.path}: {type(e).__name__}: {e}") from e
                log.info("%s: loaded %s", self.name, self.path)
            return self._model


def require(path: Path | None, what: str, hint: str) -> Path:
    """A configured or starter path that exists, or a clear error naming it."""
    if path is None:
        raise FileNotFoundError(f"no {what} configured and no starter model installed; {hint}")
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    return path


def directory_or_hub_id(configured: str, what: str, section: str) -> Path:
    """A configured model directory, or a hub id ("org/name") for machines that reach the hub."""
    if not configured:
        raise FileNotFoundError(f"no {what} configured: set [{section}] model in mtor.toml")
    path = Path(configured).expanduser()
    if not path.exists() and configured.count("/") != 1:
        raise FileNotFoundError(f"{what} {path} does not exist")
    return path


def directory_name_setting() -> Any:
    """A section's `name`, for a model that is a directory."""
    return setting("", "Model name callers ask for; empty: the directory name.")


def device_setting() -> Any:
    """A section's `device`, as torch_device reads it."""
    return setting("auto", "cpu, cuda, or auto (cuda when present, in float16).")


def torch_device(configured: str) -> tuple[str, Any]:
    """("cuda", float16) when asked, or on "auto" when CUDA is present; ("cpu", float32) otherwise."""
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if configured == "auto" else configured
    return device, torch.float16 if device == "cuda" else torch.float32
