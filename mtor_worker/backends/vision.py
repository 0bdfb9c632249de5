"""vision with transformers: an image plus a prompt to text, from any local
image-text-to-text model directory (a captioner such as ViT+GPT-2 or BLIP, or
a chat vision-language model with a processor and a chat template). The image
is prepared as the original did: transparency flattened on white, longest
side at most 512 pixels. Text streams token by token."""
from __future__ import annotations

import io
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

DEFAULT_PROMPT = "Describe this image in detail"
LONGEST_SIDE = 512


def prepare_image(data: bytes) -> Any:
    """PIL image in RGB: alpha flattened on white, shrunk so its longest side is at most 512."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise BackendError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"vision: vision.image is not an image this worker can read ({e})") from None
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(image, mask=image.getchannel("A"))
        image = white
    image = image.convert("RGB")
    image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    return image


@dataclass
class TransformersSection:
    """[transformers]: the vision backend's settings."""
    model: str = setting("", "vision (transformers): an image-text-to-text model directory (a captioner, or a "
                         "vision-language model with its processor); empty: no vision backend.")
    name: str = directory_name_setting()
    device: str = device_setting()
    max_tokens: int = setting(256, "Most tokens per answer when the intent does not say.")


class VisionBackend(ModelBackend):
    section = TransformersSection
    name = "transformers"
    kind = "vision"

    def locate(self) -> Path:
        return directory_or_hub_id(getattr(self.options, "model", ""), "vision model", "transformers")

    def default_name(self, path: Path) -> str:
        return path.name

    def load_model(self, path: Path) -> Any:
        from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer
        from transformers.processing_utils import ProcessorMixin

        device, dtype = torch_device(getattr(self.options, "device", "auto"))
        model = AutoModelForImageTextToText.from_pretrained(str(path), dtype=dtype).to(device).eval()
        processor = AutoProcessor.from_pretrained(str(path))
        if isinstance(processor, ProcessorMixin):
            return model, processor, processor.tokenizer, device
        return model, AutoImageProcessor.from_pretrained(str(path)), AutoTokenizer.from_pretrained(str(path)), device

    def _inputs(self, processor: Any, tokenizer: Any, image: Any, prompt: str, device: str) -> dict[str, Any]:
        from transformers.processing_utils import ProcessorMixin

        if not isinstance(processor, ProcessorMixin):  # a captioner: the picture is the whole question
            return dict(processor(images=image, return_tensors="pt").to(device))
        if getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
            prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
        return dict(processor(images=image, text=prompt, return_tensors="pt").to(device))

    def run_blocking(self, job: Job) -> intent_pb2.IntentResult:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

        request = job.request.vision
        image = prepare_image(request.image)
        model, processor, tokenizer, device = self.model()
        pieces: list[str] = []

        class Stream(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    pieces.append(text)
                    job.emit_text(text)

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return job.cancelled.is_set()

        inputs = self._inputs(processor, tokenizer, image, request.prompt or DEFAULT_PROMPT, device)
        with self._turn, torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=request.max_tokens or getattr(self.options, "max_tokens",
                                                                                            256),
                                    do_sample=False, streamer=Stream(tokenizer, skip_prompt=True,
                                                                     skip_special_tokens=True),
                                    stopping_criteria=StoppingCriteriaList([Cancelled()]))
        job.raise_if_cancelled()
        prompt_length = 0 if model.config.is_encoder_decoder else inputs["input_ids"].shape[-1]
        return intent_pb2.IntentResult(text=intent_pb2.TextOutput(text="".join(pieces),
                                                                  tokens=int(output.shape[-1] - prompt_length)),
                                       model=self.model_name)
