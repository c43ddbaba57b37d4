"""Random-weight Llama GGUFs of real models' shapes, with a real tokenizer (SmolLM2's, carried in the kit).

Speed depends on shapes and quantization, not on weight values, so a synthetic model of Llama-3.2-1B's shape
(Llama Guard 3 1B's) measures what the real one would; the real weights (0.9 to 1 GB) cannot travel to the GPU
machine. Unlike ../shared/gpu/synth_gguf.py these models carry SmolLM2's BPE vocabulary, so Hearth's own code
(chat templates, the guard's special tokens and verdict words) runs on them unpatched:

- `chat`: the vocabulary and chat template of SmolLM2 as they are (49,152 tokens);
- `guard`: the vocabulary padded to Llama 3's 128,256 tokens, with Llama 3's special tokens at their real ids
  and a name that says Llama Guard 3, so guard/ reads the Llama Guard 3 format from it.

Needs gguf (gguf-py, vendored in llama.cpp's source) and numpy; quantizing needs llama_cpp.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np

__all__ = ["SHAPES", "write_gguf", "quantize", "synthetic_model", "read_tokenizer"]

SHAPES = {
    # name: (n_embd, n_layer, n_head, n_head_kv, n_ff)
    "1b": (2048, 16, 32, 8, 8192),  # Llama-3.2-1B, Llama-Guard-3-1B
    "135m": (576, 30, 9, 3, 1536),  # SmolLM2-135M
    "tiny": (128, 2, 4, 2, 256),  # the suite's bounded run
}
LLAMA3_VOCAB = 128256
LLAMA3_SPECIALS = {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128006: "<|start_header_id|>",
                   128007: "<|end_header_id|>", 128008: "<|eom_id|>", 128009: "<|eot_id|>"}
CONTROL = 3  # gguf TokenType.CONTROL


def read_tokenizer(gguf_path: Path) -> dict:
    """The tokenizer of a GGUF (vocabulary, merges, ids, chat template) as plain JSON-able data."""
    from gguf import GGUFReader

    fields = GGUFReader(str(gguf_path)).fields
    keep = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
            "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
            "tokenizer.chat_template")
    return {k: fields[k].contents() for k in keep if k in fields}


def _tensor_source(seed: int = 0, size: int = 1 << 24) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(size, dtype=np.float32) * 0.02).astype(np.float16)


def write_gguf(out: Path, shape: str, tokenizer: dict, *, role: str) -> Path:
    """An F16 GGUF of `shape`; role 'chat' keeps the tokenizer as it is, 'guard' pads it to Llama 3's."""
    from gguf import GGUFWriter, LlamaFileType

    n_embd, n_layer, n_head, n_head_kv, n_ff = SHAPES[shape]
    tokens = list(tokenizer["tokenizer.ggml.tokens"])
    types = list(tokenizer["tokenizer.ggml.token_type"])
    if role == "guard":
        pad = len(tokens)
        tokens += [f"<|reserved_special_token_{i - pad}|>" for i in range(pad, LLAMA3_VOCAB)]
        types += [CONTROL] * (LLAMA3_VOCAB - pad)
        for i, text in LLAMA3_SPECIALS.items():
            tokens[i] = text
        name = f"synthetic Llama Guard 3 {shape} shape"
    else:
        name = f"synthetic chat {shape} shape"
    n_vocab = len(tokens)
    head_dim = n_embd // n_head
    w = GGUFWriter(str(out), "llama")
    w.add_name(name)
    w.add_context_length(8192)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(500000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model(tokenizer["tokenizer.ggml.model"])
    if "tokenizer.ggml.pre" in tokenizer:
        w.add_tokenizer_pre(tokenizer["tokenizer.ggml.pre"])
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(list(tokenizer["tokenizer.ggml.merges"]))
    if role == "guard":
        w.add_bos_token_id(128000)
        w.add_eos_token_id(128009)
        w.add_add_bos_token(False)  # guard/ puts <|begin_of_text|> in its prompts itself
    else:
        w.add_bos_token_id(int(tokenizer["tokenizer.ggml.bos_token_id"]))
        w.add_eos_token_id(int(tokenizer["tokenizer.ggml.eos_token_id"]))
        w.add_add_bos_token(bool(tokenizer.get("tokenizer.ggml.add_bos_token", False)))
        if "tokenizer.chat_template" in tokenizer:
            w.add_chat_template(tokenizer["tokenizer.chat_template"])

    source = _tensor_source()  # values do not matter for speed: every tensor is cut from one random buffer

    def mat(rows: int, cols: int) -> np.ndarray:
        return np.resize(source, (rows, cols))

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    w.add_tensor("token_embd.weight", mat(n_vocab, n_embd))
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones(n_embd))
        w.add_tensor(p + "attn_q.weight", mat(n_embd, n_embd))
        w.add_tensor(p + "attn_k.weight", mat(n_head_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_v.weight", mat(n_head_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_output.weight", mat(n_embd, n_embd))
        w.add_tensor(p + "ffn_norm.weight", ones(n_embd))
        w.add_tensor(p + "ffn_gate.weight", mat(n_ff, n_embd))
        w.add_tensor(p + "ffn_up.weight", mat(n_ff, n_embd))
        w.add_tensor(p + "ffn_down.weight", mat(n_embd, n_ff))
    w.add_tensor("output_norm.weight", ones(n_embd))
    w.add_tensor("output.weight", mat(n_vocab, n_embd))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def quantize(src: Path, dst: Path, *, threads: int) -> Path:
    """Q4_K_M, as the real downloads are."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = threads
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    if llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params)) != 0:
        raise RuntimeError(f"llama.cpp could not quantize {src}")
    return dst


def synthetic_model(folder: Path, shape: str, role: str, tokenizer_json: Path, *, threads: int) -> Path:
    """<folder>/synthetic-<role>-<shape>.Q4_K_M.gguf, written once."""
    out = folder / f"synthetic-{role}-{shape}.Q4_K_M.gguf"
    if out.is_file():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    f16 = folder / f"synthetic-{role}-{shape}.f16.gguf"
    write_gguf(f16, shape, json.loads(tokenizer_json.read_text()), role=role)
    tmp = out.with_suffix(".part")
    quantize(f16, tmp, threads=threads)
    f16.unlink()
    tmp.rename(out)
    return out
