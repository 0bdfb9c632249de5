"""A tiny random-weight Bark (semantic, coarse and fine GPTs and an EnCodec
decoder) with its processor, saved with save_pretrained so the backend loads
it the way it loads suno/bark.

Sizes follow the real model's layout with small numbers: the token-id
offsets in the generation config (semantic vocabulary, text offset, coarse
codebooks, pad and infer tokens) are laid out as in suno/bark, shrunk so they
fit the tiny vocabularies."""
from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_RATE = 16_000  # the tiny codec's rate (suno/bark: 24 kHz), so tests can tell it apart
PRESETS = ("v2/en_speaker_6", "v2/en_speaker_9")
SEMANTIC_VOCAB = 32  # semantic tokens 0..31; 32 is end-of-text and the semantic pad
TEXT_OFFSET = SEMANTIC_VOCAB + 16  # text token ids are shifted past the semantic ones (suno: 10_000 + 48)
CODEBOOK = 16  # entries per audio codebook (suno: 1024)
COARSE_BOOKS, FINE_BOOKS = 2, 8
WORDS = "hello world this is a test of the tiny bark voice speak say one two three".split()


def _tokenizer(directory: Path) -> Any:
    """A word-and-letter BERT tokenizer from a local vocab.txt: every text tokenizes, nothing is fetched."""
    from transformers import BertTokenizer

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *letters, *(f"##{c}" for c in letters)]
    files = directory / "_vocab"
    files.mkdir(parents=True, exist_ok=True)
    (files / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    return BertTokenizer(str(files / "vocab.txt"))


def _generation_config(sample_rate: int) -> Any:
    """Bark's nested generation config as BarkModel.generate reads it: one dict per stage (the hub's layout)."""
    from transformers import GenerationConfig

    text_tokens = 128  # room for the tokenizer's ids (about 70) after the offset
    semantic = dict(eos_token_id=SEMANTIC_VOCAB, semantic_vocab_size=SEMANTIC_VOCAB, text_encoding_offset=TEXT_OFFSET,
                    text_pad_token=TEXT_OFFSET + text_tokens, semantic_infer_token=TEXT_OFFSET + text_tokens + 4,
                    max_input_semantic_length=256, max_new_tokens=24, semantic_rate_hz=49.9,
                    min_new_tokens=8)  # random weights must not end the text stage at once: no audio
    coarse_pad = SEMANTIC_VOCAB + COARSE_BOOKS * CODEBOOK  # right after the coarse codebooks, as in suno/bark
    coarse = dict(coarse_semantic_pad_token=coarse_pad, coarse_infer_token=coarse_pad + 2, coarse_rate_hz=75,
                  n_coarse_codebooks=COARSE_BOOKS, max_coarse_input_length=64, max_coarse_history=60,
                  sliding_window_len=20)
    fine = dict(temperature=0.5, max_fine_history_length=32, max_fine_input_length=64, n_fine_codebooks=FINE_BOOKS)
    return GenerationConfig(semantic_config=semantic, coarse_acoustics_config=coarse, fine_acoustics_config=fine,
                            sample_rate=sample_rate, codebook_size=CODEBOOK)


def _model(generation: Any) -> Any:
    from transformers import BarkCoarseConfig, BarkConfig, BarkFineConfig, BarkModel, BarkSemanticConfig, EncodecConfig

    small = dict(num_layers=1, num_heads=2, hidden_size=16)
    semantic_in = generation.semantic_config["semantic_infer_token"] + 4
    coarse_vocab = generation.coarse_acoustics_config["coarse_infer_token"] + 6
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(block_size=320, input_vocab_size=semantic_in,
                                           output_vocab_size=TEXT_OFFSET, **small).to_dict(),
        coarse_acoustics_config=BarkCoarseConfig(block_size=192, input_vocab_size=coarse_vocab,
                                                 output_vocab_size=coarse_vocab, **small).to_dict(),
        fine_acoustics_config=BarkFineConfig(block_size=64, input_vocab_size=CODEBOOK + 8,
                                             output_vocab_size=CODEBOOK + 8, n_codes_total=FINE_BOOKS,
                                             n_codes_given=1, **small).to_dict(),
        # hop 64 at 16 kHz: 250 frames/s; 8 kbit/s of 4-bit codes = 8 codebooks, one per fine codebook
        codec_config=EncodecConfig(sampling_rate=generation.sample_rate, upsampling_ratios=[8, 8],
                                   target_bandwidths=[8.0], codebook_size=CODEBOOK, hidden_size=16, num_filters=4,
                                   num_lstm_layers=1).to_dict())
    model = BarkModel(config)
    model.generation_config = generation
    return model


def _presets(directory: Path) -> dict[str, dict[str, str]]:
    """Speaker prompts in the processor's layout: name -> {semantic/coarse/fine_prompt: .npy path}."""
    import numpy as np

    rng = np.random.default_rng(0)
    out: dict[str, dict[str, str]] = {"repo_or_path": str(directory)}  # type: ignore[dict-item]
    for name in PRESETS:
        frames = 30
        arrays = {"semantic_prompt": rng.integers(0, SEMANTIC_VOCAB, 20),
                  "coarse_prompt": rng.integers(0, CODEBOOK, (COARSE_BOOKS, frames)),
                  "fine_prompt": rng.integers(0, CODEBOOK, (FINE_BOOKS, frames))}
        out[name] = {}
        for key, array in arrays.items():
            path = directory / "_presets" / f"{name}_{key}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, array)
            out[name][key] = str(path.relative_to(directory))
    return out


def build_tiny_bark(directory: Path, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write tiny-bark/ (model, generation config, tokenizer, voice presets) under `directory`; return its path."""
    import torch
    from transformers import BarkProcessor

    torch.manual_seed(0)
    work = directory / "_bark_parts"
    processor = BarkProcessor(tokenizer=_tokenizer(work), speaker_embeddings=_presets(work))
    out = directory / "tiny-bark"
    _model(_generation_config(sample_rate)).save_pretrained(out)
    processor.save_pretrained(str(out))
    return out
