"""imagine with diffusers: any local text-to-image pipeline directory (or a
hub id where the hub is reachable), on the GPU in float16 when CUDA is
present. A progress delta per denoising step; cancellation interrupts the
denoising loop at the next step. One pipeline runs one image at a time."""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from mtor_client._proto.mtor.v1 import intent_pb2

from mtor_common.config import setting
from mtor_worker.backends.base import BackendError, Job
from mtor_worker.backends.model import (
    ModelBackend,
    device_setting,
    directory_name_setting,
    directory_or_hub_id,
    torch_device,
)

DEFAULT_SIDE = 512


@dataclass
class DiffusersSection:
    """[diffusers]: the imagine backend's settings."""
    model: str = setting("", "imagine (diffusers): a text-to-image pipeline directory (save_pretrained), or a hub id "
                         "on a machine that reaches the hub; empty: no imagine backend.")
    name: str = directory_name_setting()
    device: str = device_setting()
    steps: int = setting(25, "Denoising steps when the intent does not say.")
    guidance: float = setting(7.0, "Classifier-free guidance scale when the intent does not say.")


class DiffusersBackend(ModelBackend):
    section = DiffusersSection
    name = "diffusers"
    kind = "imagine"

    def __init__(self, settings: Any, options: Any = None) -> None:
        super().__init__(settings, options)
        self._scale = 8  # pixels per latent cell, read from the pipeline once loaded

    def locate(self) -> Path:
        return directory_or_hub_id(getattr(self.options, "model", ""), "diffusers pipeline", "diffusers")

    def default_name(self, path: Path) -> str:
        return path.name

    def load_model(self, path: Path) -> Any:
        from diffusers import AutoPipelineForText2Image

        device, dtype = torch_device(getattr(self.options, "device", "auto"))
        pipe = AutoPipelineForText2Image.from_pretrained(str(path), torch_dtype=dtype).to(device)
        pipe.set_progress_bar_config(disable=True)
        self._scale = getattr(pipe, "vae_scale_factor", 8)
        return pipe

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        import torch

        request = job.request.imagine
        if not request.prompt.strip():
            raise BackendError(grpc.StatusCode.INVALID_ARGUMENT, "diffusers: imagine.prompt is empty")
        pipe = self.model()
        width, height = request.width or DEFAULT_SIDE, request.height or DEFAULT_SIDE
        for side, value in (("width", width), ("height", height)):
            if value % self._scale:
                raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"diffusers: imagine.{side} {value} is not a multiple of {self._scale}")
        steps = request.steps or getattr(self.options, "steps", 25)
        seed = request.seed if request.HasField("seed") else random.randrange(2**31)

        def on_step(pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            job.emit_progress((step + 1) / steps)
            if job.cancelled.is_set():
                pipeline._interrupt = True  # diffusers' own flag: the loop stops before the next step
            return tensors

        with self._turn:
            job.raise_if_cancelled()
            image = pipe(request.prompt, negative_prompt=request.negative_prompt or None, width=width,
                         height=height, num_inference_steps=steps,
                         guidance_scale=request.guidance if request.HasField("guidance")
                         else getattr(self.options, "guidance", 7.0),
                         generator=torch.Generator(device="cpu").manual_seed(seed),
                         callback_on_step_end=on_step).images[0]
        job.raise_if_cancelled()
        png = io.BytesIO()
        image.save(png, format="PNG")
        return intent_pb2.IntentResult(image=intent_pb2.Image(png=png.getvalue(), width=image.width,
                                                               height=image.height, seed=seed),
                                       model=self.model_name)
