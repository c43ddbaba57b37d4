"""`hearth eval retrieval`: does search find the evidence document (and page) for each question?"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from evaluation.metrics import (doc_flags, first_rank, hit_at, latency_summary, mean, page_flags, precision_at,
                                  recall_at, reciprocal_rank)
from evaluation.questions import Question

__all__ = ["score_question", "summarise", "group_rows", "evaluate_retrieval"]


def score_question(q: Question, ranked: Sequence[tuple[str, int]], ks: Sequence[int]) -> dict:
    """One question's row: ranks of the first evidence passage and every metric at every k. Pure."""
    files = [f for f, _ in ranked]
    docs = doc_flags(files, q.docs)
    row = {"id": q.id, "question": q.question, "kind": q.kind, "type": q.meta.get("question_type"),
           "docs": list(q.docs), "pages": list(q.pages), "doc_rank": first_rank(docs), "rr": reciprocal_rank(docs)}
    for k in ks:
        row[f"doc_hit@{k}"] = hit_at(docs, k)
        row[f"doc_recall@{k}"] = recall_at(files, q.docs, k)
        row[f"precision@{k}"] = precision_at(docs, k)
    if q.pages:
        pages = page_flags(ranked, q.docs, q.pages)
        row["page_rank"], row["page_rr"] = first_rank(pages), reciprocal_rank(pages)
        for k in ks:
            row[f"page_hit@{k}"] = hit_at(pages, k)
    return row


def summarise(rows: Sequence[dict], ks: Sequence[int]) -> dict:
    """Means over rows (a bool counts 1 or 0); page metrics over the rows that give pages. Pure."""
    paged = [r for r in rows if "page_rank" in r]
    out: dict = {"n": len(rows), "n_with_pages": len(paged)}
    for k in ks:
        for name in ("doc_hit", "doc_recall", "precision"):
            out[f"{name}@{k}"] = mean(float(r[f"{name}@{k}"]) for r in rows)
    out["mrr"] = mean(r["rr"] for r in rows)
    for k in ks:
        out[f"page_hit@{k}"] = mean(float(r[f"page_hit@{k}"]) for r in paged)
    out["page_mrr"] = mean(r["page_rr"] for r in paged)
    if all("latency_ms" in r for r in rows):
        out["latency"] = latency_summary(r["latency_ms"] for r in rows)
    return out


def group_rows(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """all, then single-doc / multi-doc, then each question_type the file names."""
    groups = {"all": list(rows)}
    for key in ("kind", "type"):
        for value in dict.fromkeys(r[key] for r in rows if r.get(key)):
            groups[value] = [r for r in rows if r.get(key) == value]
    return groups


def evaluate_retrieval(library, questions: Sequence[Question], ks: Sequence[int],
                       progress: Callable[[int, int], None] | None = None, **options) -> dict:
    """Search once per question for max(ks) passages through Library.search (with its options: a part switched off
    is measured with e.g. route=False); score and summarise."""
    ks = sorted(set(ks))
    rows = []
    for i, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        hits = library.search(q.question, max(ks), **options)
        latency = (time.perf_counter() - t0) * 1000
        row = score_question(q, [(h.file, h.page) for h in hits], ks)
        row["latency_ms"] = round(latency, 2)
        row["retrieved"] = [{"file": h.file, "page": h.page, "score": h.score} for h in hits]
        rows.append(row)
        if progress:
            progress(i, len(questions))
    groups = {name: summarise(group, ks) for name, group in group_rows(rows).items()}
    return {"ks": ks, "summary": groups, "rows": rows}
