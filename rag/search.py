"""Hybrid search: dense (Chroma) and lexical (BM25) rankings, for the question and its rewrites, fused by
reciprocal rank; then an optional cross-encoder rerank and a diversity pass (MMR) over the candidates.

When the question names documents by company or period (rag.focus), the same two rankings are also made
within those documents and fused with the rest: their passages rise, the others stay reachable."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from rag.catalog import Catalog
from rag.retrieve import PageRerank, Rerank, Rewrite, mmr, page_fusion, rrf, spread
from rag.statements import KINDS, MDNA
from rag.store import MAX_ID_SCOPE, Hit, Store, hit_from

__all__ = ["HybridSearch"]

log = logging.getLogger(__name__)

MAX_REWRITES = 3
# Weights in the fusion, against 1 for each other ranking (dense and BM25, everywhere and within the focus).
# Measured on financebench_dev (35 questions, fp32 embedder; benchmarks/bench_pages.py): page hit@5 0.74 with the
# statements' ranking at 2, 0.83 at 3 and at 4; MD&A's at 2 instead of 1: 0.77. A statement's ranking then counts
# about as much as the rankings that found its document.
ROUTE_WEIGHT = 3.0  # the ranking of the pages of the statements a question needs
MDNA_WEIGHT = 1.0  # the ranking of MD&A's pages, for a question that asks why
# Two workers: the question's Chroma query and, when it names documents, the one within them (rag.focus).
_DENSE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hearth-dense")


class HybridSearch:
    def __init__(self, *, catalog: Catalog, store: Store, embedder, collection: str, rerank: Rerank | None = None,
                 rewrite: Rewrite | None = None, page_rerank: PageRerank | None = None, mmr_lambda: float = 0.7,
                 candidates: int = 30):
        self.catalog, self.store, self.embedder, self.collection = catalog, store, embedder, collection
        self.rerank, self.rewrite, self.page_rerank = rerank, rewrite, page_rerank
        self.mmr_lambda, self.candidates = mmr_lambda, candidates

    def search(self, query: str, k: int = 5, doc_ids: Sequence[str] | None = None, *, rerank: bool = True,
               rewrite: bool = True, mmr_lambda: float | None = None, dense: bool = True,
               lexical: bool = True, focus: Sequence[str] | None = None, route: Sequence[str] = (),
               pages: bool = True, spread_focus: bool = True) -> list[Hit]:
        """focus: ids of the documents the question names (rag.focus), searched once more on their own.
        route: the statements (and "mdna") the question needs (rag.statements.asked_kinds): their pages, in the
        focus or else everywhere, are ranked once more and that ranking weighs ROUTE_WEIGHT in the fusion.
        pages: pages ranked, each shown by its best passage (rag.retrieve.page_fusion); else passages.
        spread_focus: when the question names several documents, each of them has its best page among the k."""
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
        weights: list[float] = []
        first: dict[str, dict[str, int]] = {"dense": {}, "lexical": {}}
        route_fields = _route_fields(route)
        for i, (q, vector) in enumerate(zip(queries, vectors)):
            # Chroma's queries run in threads while BM25 runs here (Chroma leaves Python while it searches).
            wide = _DENSE.submit(self.store.query_ids, vector, n + 10, scope, chunks) if dense else None
            narrow = _DENSE.submit(self.store.query_ids, vector, n, focus, chunks) if dense and i == 0 and focus \
                else None
            routed = [self._routed(vector, n, focus or scope, chunks, fields)
                      for fields in route_fields] if dense and i == 0 else []
            lexical_ids = lexical_focus = None
            if lexical:
                scopes = [scope, focus] if i == 0 and focus else [scope]
                found = [[h.chunk_id for h in hits]
                         for hits in self.catalog.lexical(self.collection).search_scopes(q, n, scopes)]
                lexical_ids, lexical_focus = found[0], (found[1] if len(found) > 1 else None)
            if wide is not None:
                # chunk ids are "<doc_id>:<index>": the ready filter needs no metadata read
                ids = [cid for cid in wide.result() if cid.rpartition(":")[0] in ready][:n]
                rankings.append(ids)
                if i == 0:
                    first["dense"] = {cid: r for r, cid in enumerate(ids, 1)}
            if lexical_ids is not None:
                rankings.append(lexical_ids)
                if i == 0:
                    first["lexical"] = {cid: r for r, cid in enumerate(lexical_ids, 1)}
            rankings += [ids for ids in (narrow and narrow.result(), lexical_focus) if ids is not None]
            weights += [1.0] * (len(rankings) - len(weights))
            for future, fields in zip(routed, route_fields):
                if future is not None:
                    rankings.append([cid for cid in future.result() if cid.rpartition(":")[0] in ready])
                    weights.append(MDNA_WEIGHT if "part" in fields else ROUTE_WEIGHT)
            if dense and i == 0 and spread_focus and 1 < len(focus) <= k:
                for doc in focus:  # each named document's own best passages, so that each can be shown
                    rankings.append(self.store.query_ids(vector, 3, [doc], chunks))
                    weights.append(1.0)
        fused = rrf(rankings, weights=weights)
        if pages:  # the page is the unit: each ranking votes for pages, and a page is shown by its best passage
            # (a document of one page, a text file, say, has no pages to rank: its passages stay the unit)
            unpaged = self.catalog.single_page(self.collection)
            page_of = {cid: cid if page[0] in unpaged else page
                       for cid, page in self.store.pages_of({cid for cid, _ in fused}).items()}
            fused = page_fusion(rankings, weights, page_of, fused)
        fused = fused[:n]
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
            order = sorted(range(len(hits)), key=lambda i: -relevance[i])
        else:
            order = mmr(relevance, np.stack(embs), len(hits), lam)
        if spread_focus and 1 < len(focus) <= k:
            order = spread(order, lambda i: hits[i].doc_id, focus, k)
        if rerank and self.page_rerank is not None:  # the chat model puts the pages that answer first (rag.page_rerank)
            first = [order[j] for j in self.page_rerank(query, [_passage(hits[i]) for i in order])]
            order = first + [i for i in order if i not in first]
        return [hits[i] for i in order[:k]]

    def _routed(self, vector, n: int, docs: Sequence[str] | None, chunks: Mapping[str, int], fields: dict):
        """The routed ranking, being searched: within the named documents, or within every document when the
        index is small enough to search in memory (MAX_ID_SCOPE); in a larger index with no document named, a
        statement's pages across all documents (kept in memory: Store.statements_within), and MD&A not at all
        (a quarter of such an index reads like MD&A: that steer would not narrow)."""
        docs = list(docs) if docs is not None else list(chunks)
        if sum(chunks.get(d, 0) for d in docs) <= MAX_ID_SCOPE:
            return _DENSE.submit(self.store.query_ids, vector, n, docs, chunks, fields)
        if "kind" in fields:
            return _DENSE.submit(self.store.statements_within, vector, n, docs, fields["kind"])
        return None


def _passage(hit: Hit) -> str:
    return f"({hit.file}, page {hit.page}; {hit.section}) {hit.text}" if hit.section else \
        f"({hit.file}, page {hit.page}) {hit.text}"


def _route_fields(route: Sequence[str]) -> list[dict[str, list[str]]]:
    """The chunk metadata each routed ranking is limited to: the statements' pages, and MD&A's."""
    statements = [r for r in route if r in KINDS]
    return ([{"kind": statements}] if statements else []) + ([{"part": [MDNA]}] if MDNA in route else [])
