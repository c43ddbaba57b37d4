"""Sentence embeddings without torch: a BERT encoder in NumPy over the model's own safetensors.

Same interface and, to float precision, the same vectors as Embedder for BERT-family
sentence-transformers folders (all-MiniLM-L6-v2 and kin: mean pooling, normalised). Used where
torch must stay out of the process: a CUDA build of llama.cpp and torch crash when loaded together.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import ModelNotFoundError
from rag.embed_parts import BaseEmbedder, bert_tokenizer, mean_pooled

__all__ = ["NumpyEmbedder"]


class NumpyEmbedder(BaseEmbedder):
    """embed(texts) -> unit vectors, through NumPy and `tokenizers` only (no torch, no transformers)."""

    needs = ("model.safetensors",)
    kind = "numpy embedder"

    def _open(self) -> "_Bert":
        return _Bert(self.model_path)

    def _encode(self, model: "_Bert", batch: list[str]):
        return model.encode(batch)


class _Bert:
    def __init__(self, folder: Path):
        import numpy as np
        from safetensors.numpy import load_file

        cfg = json.loads((folder / "config.json").read_text())
        if cfg.get("model_type") != "bert":
            raise ModelNotFoundError(f"{folder}: the torch-free embedder reads BERT models only, this is "
                                     f"{cfg.get('model_type')!r}; use HEARTH_EMBEDDING_BACKEND=torch.")
        self.hidden, self.heads = cfg["hidden_size"], cfg["num_attention_heads"]
        self.layers, self.eps = cfg["num_hidden_layers"], cfg.get("layer_norm_eps", 1e-12)
        # dense weights stored transposed and contiguous, so every product is one float32 GEMM
        self.w = {k.removeprefix("bert."): np.ascontiguousarray(v.T if k.endswith("dense.weight") or k.endswith(
            ("query.weight", "key.weight", "value.weight")) else v, dtype=np.float32)
            for k, v in load_file(folder / "model.safetensors").items() if v.dtype != np.int64}
        self.tok = bert_tokenizer(folder)

    def _ln(self, x, name):
        import numpy as np

        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + np.float32(self.eps)) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def _dense(self, x, name):
        return x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def encode(self, texts: list[str]):
        import numpy as np

        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc])
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        types = np.array([e.type_ids for e in enc])
        b, n = ids.shape
        w, d, h = self.w, self.hidden, self.heads
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._ln(x, "embeddings.LayerNorm").reshape(b * n, d)  # rows are tokens from here on
        bias = (np.float32(1.0) - mask)[:, None, None, :] * np.float32(-1e9)
        scale = np.float32(1.0 / np.sqrt(d // h))
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            split = lambda t: np.ascontiguousarray(t.reshape(b, n, h, d // h).transpose(0, 2, 1, 3))  # noqa: E731
            q, k, v = (split(self._dense(x, f"{p}.attention.self.{m}")) for m in ("query", "key", "value"))
            scores = np.matmul(q, np.ascontiguousarray(k.transpose(0, 1, 3, 2))) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            ctx = np.matmul(scores / scores.sum(-1, keepdims=True), v)
            ctx = ctx.transpose(0, 2, 1, 3).reshape(b * n, d)
            x = self._ln(self._dense(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._ln(self._dense(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        return mean_pooled(x.reshape(b, n, d), mask)


def _gelu(x):
    """Exact (erf) GELU as BERT uses it; erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7)."""
    import numpy as np

    z = np.abs(x) * np.float32(0.7071067811865476)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return (np.float32(0.5) * x * (np.float32(1.0) + erf)).astype(np.float32)
