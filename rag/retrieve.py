"""Pure parts of retrieval: reciprocal-rank fusion, maximal marginal relevance, and the cross-encoder seam."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np

from core.errors import ModelNotFoundError

__all__ = ["rrf", "mmr", "CrossEncoderReranker", "Rerank", "Rewrite", "RRF_K"]

log = logging.getLogger(__name__)

RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of the very first ranks

# rerank(query, passages) -> one relevance score per passage, higher is better.
Rerank = Callable[[str, Sequence[str]], Sequence[float]]
# rewrite(question) -> other phrasings of it (the question itself is always searched too).
Rewrite = Callable[[str], Sequence[str]]


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> list[tuple[Hashable, float]]:
    """Fuse ranked lists: score(d) = sum over lists of 1 / (k + rank of d). Best first; ties keep first-seen order."""
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def mmr(relevance: Sequence[float], vectors: np.ndarray, k: int, lam: float = 0.7) -> list[int]:
    """Pick k indexes, each maximising lam * relevance - (1 - lam) * (max cosine to those already picked).

    relevance is scaled to 0..1 first, so lam weighs like against like. lam=1 keeps the relevance order.
    """
    n = len(relevance)
    if n == 0 or k <= 0:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones(n)
    vec = np.asarray(vectors, dtype=np.float64)
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    picked: list[int] = []
    closest = np.full(n, -np.inf)  # max similarity of each candidate to the picked ones
    for _ in range(min(k, n)):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = lam * rel - (1 - lam) * penalty
        value[picked] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        closest = np.maximum(closest, vec @ vec[best])
    return picked


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder, loaded on first use; rerank(query, passages)."""

    def __init__(self, model_path: Path, *, threads: int, lock: threading.Lock | threading.RLock | None = None,
                 batch_size: int = 16):
        self.model_path = Path(model_path)
        self.threads = threads
        self.lock = lock or threading.Lock()
        self.batch_size = batch_size
        self._model = None

    def load(self):
        if self._model is None:
            if not self.model_path.exists():
                raise ModelNotFoundError(f"rerank model folder {self.model_path} does not exist; set HEARTH_RERANK_MODEL "
                                         "to a sentence-transformers cross-encoder folder, or leave it empty.")
            import torch
            from sentence_transformers import CrossEncoder

            torch.set_num_threads(self.threads)
            self._model = CrossEncoder(str(self.model_path), device="cpu", local_files_only=True)
            log.info("loaded cross-encoder model=%s", self.model_path)
        return self._model

    def __call__(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        with self.lock:
            scores = self.load().predict([(query, p) for p in passages], batch_size=self.batch_size,
                                         show_progress_bar=False, convert_to_numpy=True)
        return [float(s) for s in np.asarray(scores).reshape(len(passages), -1)[:, -1]]
