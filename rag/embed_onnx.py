"""Sentence embeddings through ONNX Runtime: the model's BERT encoder written as an ONNX graph from its own
safetensors (rag.bert_onnx, no torch), cached, then run.

Same interface and, to float precision, the same vectors as Embedder for BERT-family sentence-transformers
folders with mean pooling (all-MiniLM-L6-v2 and kin). Against sentence-transformers on a CPU it embeds as many
chunks per CPU-second, a short question in about half the time, and opens in a fraction of a second instead of
the seconds torch takes to import (benchmarks/bench_embedders.py). torch stays out of the process, which a
CUDA build of llama.cpp needs (shared/gpu/README.md). The graph is written once (about a second), cached under
the models folder, keyed by the model's files; a missing or unreadable cache file is written again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from core.errors import ModelNotFoundError
from rag.bert_onnx import BERT_FILES, bert_onnx, check_bert_folder
from rag.embed_parts import BaseEmbedder, bert_tokenizer, mean_pooled

__all__ = ["OnnxEmbedder", "onnx_cache_file", "export_onnx", "reads"]

log = logging.getLogger(__name__)

GRAPH_VERSION = 2  # 1: exported by torch; 2: written by rag.bert_onnx


def onnx_cache_file(model_path: Path, cache_dir: Path) -> Path:
    """Where the graph of this model folder is kept: its name and a fingerprint of its config and weights."""
    h = hashlib.sha256(f"v{GRAPH_VERSION}:".encode())
    for name in ("config.json", "model.safetensors", "sentence_bert_config.json"):
        f = model_path / name
        if f.is_file():
            h.update(f"{name}:{f.stat().st_size}:{f.stat().st_mtime_ns}:".encode())
            h.update(f.read_bytes() if f.stat().st_size < 1 << 20 else b"")
    return cache_dir / f"{model_path.name}-{h.hexdigest()[:12]}.onnx"


def reads(model_path: Path) -> bool:
    """Whether this embedder can run the model folder: onnx and onnxruntime installed, a mean-pooled BERT."""
    import importlib.util

    if not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "safetensors", "tokenizers")):
        return False
    try:
        check_bert_folder(Path(model_path))
    except (ModelNotFoundError, OSError, ValueError):
        return False
    return True


def export_onnx(model_path: Path, out: Path) -> None:
    """Write the model's encoder (token vectors out) as ONNX; atomically, so a half-written file never stays."""
    data = bert_onnx(model_path).SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote onnx graph of embedder model=%s file=%s", model_path, out)


class OnnxEmbedder(BaseEmbedder):
    """embed(texts) -> unit vectors, through onnxruntime and `tokenizers` (no torch, no transformers)."""

    needs = BERT_FILES
    kind = "onnx embedder"

    def __init__(self, model_path: Path, *, cache_dir: Path, threads: int, batch_size: int = 32,
                 lock: threading.Lock | None = None):
        super().__init__(model_path, threads=threads, batch_size=batch_size, lock=lock)
        self.cache_dir = Path(cache_dir)
        self._tokenizer = None

    @property
    def cache_file(self) -> Path:
        return onnx_cache_file(self.model_path, self.cache_dir)

    def _open(self):
        check_bert_folder(self.model_path)
        file = self.cache_file
        try:
            session = self._session(file)
        except Exception as e:  # missing, or unreadable (cut off, corrupt): export it again
            log.info("onnx cache %s unusable (%s); exporting", file, type(e).__name__)
            export_onnx(self.model_path, file)
            session = self._session(file)
        self._tokenizer = bert_tokenizer(self.model_path)
        return session

    def _encode(self, session, texts: list[str]):
        import numpy as np

        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        tokens = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return mean_pooled(tokens, mask)

    def _session(self, file: Path):
        import onnxruntime as ort

        if not file.is_file():
            raise FileNotFoundError(file)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # share the cores politely
        return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
