"""Pure parts of retrieval: reciprocal-rank fusion, maximal marginal relevance, and the cross-encoder seam."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Hashable, Mapping, Sequence

import numpy as np

from core.errors import ModelNotFoundError

__all__ = ["rrf", "page_fusion", "spread", "mmr", "CrossEncoderReranker", "Rerank", "Rewrite", "PageRerank", "RRF_K"]

log = logging.getLogger(__name__)

RRF_K = 60  # the constant of Cormack et al. (2009); damps the weight of the very first ranks

# rerank(query, passages) -> one relevance score per passage, higher is better.
Rerank = Callable[[str, Sequence[str]], Sequence[float]]
# rewrite(question) -> other phrasings of it (the question itself is always searched too).
Rewrite = Callable[[str], Sequence[str]]
# page_rerank(question, passages of the top pages) -> indexes of the passages to put first, best first.
PageRerank = Callable[[str, Sequence[str]], Sequence[int]]


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K,
        weights: Sequence[float] | None = None) -> list[tuple[Hashable, float]]:
    """Fuse ranked lists: score(d) = sum over lists of weight / (k + rank of d) (weights default to 1). Best first;
    ties keep first-seen order."""
    scores: dict[Hashable, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def page_fusion(rankings: Sequence[Sequence[Hashable]], weights: Sequence[float] | None,
                page_of: Mapping[Hashable, Hashable],
                fused: Sequence[tuple[Hashable, float]]) -> list[tuple[Hashable, float]]:
    """Pages ranked instead of passages: each ranking of passages becomes a ranking of their pages (a page at the
    rank of its first passage there), and those are fused as rrf() fuses; each page is then given by its best
    passage in `fused` (the passages' own fusion), with the page's score. A page's passages thus combine across
    rankings (dense finds one row of a table, BM25 another), while a page cut into many passages gains nothing
    from their number. page_of: passage -> its (document, page). Pure."""
    page_rankings = [list(dict.fromkeys(page_of[key] for key in ranking if key in page_of)) for ranking in rankings]
    best: dict[Hashable, Hashable] = {}
    for key, _ in fused:
        if key in page_of:
            best.setdefault(page_of[key], key)
    return [(best[page], score) for page, score in rrf(page_rankings, weights=weights) if page in best]


def spread(order: Sequence[Hashable], group: Callable[[Hashable], Hashable], groups: Sequence[Hashable],
           k: int) -> list[Hashable]:
    """The first k of `order`, with the first item of each of `groups` (e.g. each filing a question names) among
    them when it is in `order` at all; otherwise the order is kept. Pure."""
    wanted = set(groups)
    first = []
    for item in order:
        g = group(item)
        if g in wanted:
            first.append(item)
            wanted.discard(g)
    first = first[:k]
    rest = [item for item in order if item not in set(first)]
    keep = set(first) | set(rest[:k - len(first)])
    return [item for item in order if item in keep]


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
