"""Hybrid search: dense (Chroma) and lexical (BM25) rankings, for the question and its rewrites, fused by
reciprocal rank; then an optional cross-encoder rerank and a diversity pass (MMR) over the candidates.

When the question names documents by company or period (rag.focus), the same two rankings are also made
within those documents and fused with the rest: their passages rise, the others stay reachable."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Sequence

import numpy as np

from rag.catalog import Catalog
from rag.retrieve import Rerank, Rewrite, mmr, rrf
from rag.store import Hit, Store, hit_from

__all__ = ["HybridSearch"]

log = logging.getLogger(__name__)

MAX_REWRITES = 3


class HybridSearch:
    def __init__(self, *, catalog: Catalog, store: Store, embedder, collection: str, rerank: Rerank | None = None,
                 rewrite: Rewrite | None = None, mmr_lambda: float = 0.7, candidates: int = 30):
        self.catalog, self.store, self.embedder, self.collection = catalog, store, embedder, collection
        self.rerank, self.rewrite = rerank, rewrite
        self.mmr_lambda, self.candidates = mmr_lambda, candidates

    def search(self, query: str, k: int = 5, doc_ids: Sequence[str] | None = None, *, rerank: bool = True,
               rewrite: bool = True, mmr_lambda: float | None = None, dense: bool = True,
               lexical: bool = True, focus: Sequence[str] | None = None) -> list[Hit]:
        """focus: ids of the documents the question names (rag.focus), searched once more on their own."""
        query = query.strip()
        chunks = self.catalog.ready_chunks(self.collection)
        ready = set(chunks)
        scope = None if doc_ids is None else [d for d in dict.fromkeys(doc_ids) if d in ready]
        if not query or not ready or scope == [] or k <= 0:
            return []
        focus = [d for d in focus or () if d in ready and (scope is None or d in scope)]
        if scope is not None and set(focus) >= set(scope):
            focus = []  # the scope already is the focus
        queries = [query]
        if rewrite and self.rewrite is not None:
            queries += [q for q in dict.fromkeys(s.strip() for s in self.rewrite(query)) if q and q != query][:MAX_REWRITES]
        n = max(self.candidates, 2 * k)
        vectors = self.embedder.embed(queries)
        rankings: list[list[str]] = []
        first: dict[str, dict[str, int]] = {"dense": {}, "lexical": {}}
        for i, (q, vector) in enumerate(zip(queries, vectors)):
            if dense:
                # chunk ids are "<doc_id>:<index>": the ready filter needs no metadata read
                ids = [cid for cid in self.store.query_ids(vector, n + 10, scope, chunks)
                       if cid.rpartition(":")[0] in ready][:n]
                rankings.append(ids)
                if i == 0:
                    first["dense"] = {cid: r for r, cid in enumerate(ids, 1)}
            if lexical:
                ids = [h.chunk_id for h in self.catalog.lexical(self.collection).search(q, n, scope)]
                rankings.append(ids)
                if i == 0:
                    first["lexical"] = {cid: r for r, cid in enumerate(ids, 1)}
            if i == 0 and focus:
                if dense:
                    rankings.append(self.store.query_ids(vector, n, focus, chunks))
                if lexical:
                    rankings.append([h.chunk_id for h in self.catalog.lexical(self.collection).search(q, n, focus)])
        fused = rrf(rankings)[:n]
        found = self.store.get([cid for cid, _ in fused])
        qv = np.asarray(vectors[0], dtype=np.float32)
        hits, embs, relevance, seen = [], [], [], set()
        for cid, score in fused:
            if cid not in found:
                continue
            text, meta, emb = found[cid]
            if meta.get("sha") and meta["sha"] in seen:  # the same passage twice (a repeated page header…)
                continue
            seen.add(meta.get("sha"))
            emb = np.asarray(emb, dtype=np.float32)
            hits.append(replace(hit_from(cid, text, meta, float(qv @ emb)), dense_rank=first["dense"].get(cid),
                                lexical_rank=first["lexical"].get(cid)))
            embs.append(emb)
            relevance.append(score)
        if not hits:
            return []
        if rerank and self.rerank is not None:
            scores = list(self.rerank(query, [h.text for h in hits]))
            hits = [replace(h, rerank_score=round(s, 4)) for h, s in zip(hits, scores)]
            relevance = scores
        lam = self.mmr_lambda if mmr_lambda is None else mmr_lambda
        if lam >= 1:
            order = sorted(range(len(hits)), key=lambda i: -relevance[i])[:k]
        else:
            order = mmr(relevance, np.stack(embs), k, lam)
        return [hits[i] for i in order]
