"""What the torch-free embedders (NumPy, ONNX Runtime) share: the model's tokenizer as sentence-transformers
sets it up, mean pooling to unit vectors, and batches of similar length."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["bert_tokenizer", "mean_pooled", "in_length_order"]


def bert_tokenizer(folder: Path):
    """The folder's tokenizer.json, truncating at its max_seq_length (256 when unsaid) and padding with its pad id."""
    from tokenizers import Tokenizer

    st = folder / "sentence_bert_config.json"
    max_len = json.loads(st.read_text()).get("max_seq_length", 256) if st.is_file() else 256
    cfg = json.loads((folder / "config.json").read_text())
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(max_length=max_len)
    tok.enable_padding(pad_id=cfg.get("pad_token_id", 0))
    return tok


def mean_pooled(tokens, mask):
    """Token vectors (batch, tokens, dim) averaged over the attention mask, then scaled to unit length."""
    import numpy as np

    m = np.asarray(mask, dtype=np.float32)[..., None]
    pooled = (tokens * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def in_length_order(texts: Sequence[str], batch_size: int, encode: Callable) -> list[list[float]]:
    """encode(batch) over batches of similar length (they pad little, as sentence-transformers does); the
    vectors come back in the order of texts."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: list = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        for i, vec in zip(batch, encode([texts[i] for i in batch]).tolist()):
            out[i] = vec
    return out
