"""A tiny llama-architecture GGUF with random weights, written with the `gguf`
package: llama.cpp loads it, tokenizes any text and runs real inference on it,
in milliseconds and without a real model, so chat tests are fast. The output is
meaningless: printable ASCII chosen by seeded random weights, so greedy decoding
(temperature 0) gives the same text every time."""
from __future__ import annotations

from pathlib import Path

LAYERS = 2
EMBED = 64
HEADS = 4
FFN = 128
CONTEXT = 2048
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
                 "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_BIGRAMS = ["th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed"]


def _byte_chars() -> list[str]:
    """GPT-2's byte-level alphabet: the character that stands for each byte 0..255."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def _vocab() -> tuple[list[str], list[str], list[int]]:
    """Tokens (every byte, a few merges, the chat specials), merges, and token types."""
    bytes_ = _byte_chars()
    merges = [f"Ġ {c}" for c in "abcdefghijklmnopqrstuvwxyz"] + [f"{a} {b}" for a, b in _BIGRAMS]
    tokens = bytes_ + [m.replace(" ", "") for m in merges] + SPECIALS
    types = [1] * (len(tokens) - len(SPECIALS)) + [3] * len(SPECIALS)  # 1 normal, 3 control
    return tokens, merges, types


def build_tiny_llama_gguf(path: Path, seed: int = 0) -> Path:
    """Write the model to `path` (about 0.5 MB, float32) and return `path`."""
    import gguf
    import numpy as np

    tokens, merges, types = _vocab()
    rng = np.random.default_rng(seed)

    def weight(*shape: int) -> np.ndarray:  # numpy order (out, in); gguf writes the shape reversed
        return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    output = weight(len(tokens), EMBED)
    byte_chars = _byte_chars()
    printable = {byte_chars[b] for b in range(0x20, 0x7F)} | set(tokens[256:-len(SPECIALS)])
    for i, token in enumerate(tokens):  # a zero logit never wins greedily: only printable text comes out
        if token not in printable:
            output[i] = 0.0
    output *= 4.0  # peaked logits: greedy choices are clear-cut, not ties

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name(path.stem)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBED)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(EMBED // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    writer.add_tensor("token_embd.weight", weight(len(tokens), EMBED))
    for n in range(LAYERS):
        writer.add_tensor(f"blk.{n}.attn_norm.weight", np.ones(EMBED, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{n}.{name}.weight", weight(EMBED, EMBED))
        writer.add_tensor(f"blk.{n}.ffn_norm.weight", np.ones(EMBED, dtype=np.float32))
        writer.add_tensor(f"blk.{n}.ffn_gate.weight", weight(FFN, EMBED))
        writer.add_tensor(f"blk.{n}.ffn_up.weight", weight(FFN, EMBED))
        writer.add_tensor(f"blk.{n}.ffn_down.weight", weight(EMBED, FFN))
    writer.add_tensor("output_norm.weight", np.ones(EMBED, dtype=np.float32))
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
