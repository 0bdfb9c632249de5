"""A tiny random-weight image captioner (ViT encoder + GPT-2 decoder), saved
with save_pretrained so the backend loads it the way it loads a real one."""
from __future__ import annotations

import json
from pathlib import Path


def _byte_alphabet() -> list[str]:
    """GPT-2's byte-level alphabet (as its tokenizer maps bytes to characters)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    return [chr(c) for c in printable] + [chr(256 + i) for i in range(256 - len(printable))]


def make_captioner(directory: Path) -> Path:
    import torch
    from transformers import (
        GPT2Config,
        GPT2Tokenizer,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    vocab = {token: i for i, token in enumerate([*_byte_alphabet(), "<|endoftext|>"])}
    end = vocab["<|endoftext|>"]
    files = directory / "_tokenizer"
    files.mkdir(parents=True, exist_ok=True)
    (files / "vocab.json").write_text(json.dumps(vocab))
    (files / "merges.txt").write_text("#version: 0.2\n")
    torch.manual_seed(0)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, image_size=32,
                  patch_size=8),
        GPT2Config(vocab_size=len(vocab), n_embd=16, n_layer=1, n_head=2, n_positions=64, add_cross_attention=True,
                   is_decoder=True, bos_token_id=end, eos_token_id=end))
    config.decoder_start_token_id = config.pad_token_id = config.eos_token_id = end
    out = directory / "tiny-captioner"
    VisionEncoderDecoderModel(config=config).save_pretrained(out)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(out)
    GPT2Tokenizer(str(files / "vocab.json"), str(files / "merges.txt")).save_pretrained(out)
    return out
