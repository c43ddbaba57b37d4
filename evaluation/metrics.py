"""Retrieval and rate metrics. Pure functions of plain values, so each is tested with literal inputs.

A ranked list is given as relevance flags, best first: [False, True, False] means the second
passage was relevant. Every "@k" metric looks at the first k passages only.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

__all__ = ["hit_at", "recall_at", "precision_at", "reciprocal_rank", "first_rank", "rate", "mean", "percentile",
           "latency_summary", "doc_flags", "page_flags"]


def doc_flags(ranked_files: Sequence[str], docs: Iterable[str]) -> list[bool]:
    gold = set(docs)
    return [f in gold for f in ranked_files]


def page_flags(ranked: Sequence[tuple[str, int]], docs: Iterable[str], pages: Iterable[int]) -> list[bool]:
    """A passage is on an evidence page when its file is an evidence document and its page is listed."""
    gold_docs, gold_pages = set(docs), set(pages)
    return [f in gold_docs and p in gold_pages for f, p in ranked]


def hit_at(flags: Sequence[bool], k: int) -> bool:
    return any(flags[:k])


def recall_at(ranked_files: Sequence[str], docs: Sequence[str], k: int) -> float:
    """Share of the evidence documents that appear among the first k passages (context recall)."""
    gold = set(docs)
    if not gold:
        raise ValueError("recall needs at least one evidence document")
    return len(gold & set(ranked_files[:k])) / len(gold)


def precision_at(flags: Sequence[bool], k: int) -> float:
    """Share of the first k passages (or fewer, if fewer came back) that are relevant (context precision)."""
    top = flags[:k]
    return sum(top) / len(top) if top else 0.0


def first_rank(flags: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant passage, or None."""
    return next((i for i, f in enumerate(flags, start=1) if f), None)


def reciprocal_rank(flags: Sequence[bool]) -> float:
    rank = first_rank(flags)
    return 1.0 / rank if rank else 0.0


def rate(count: int, total: int) -> float | None:
    """count/total, or None when there is nothing to count (never a misleading 0%)."""
    return count / total if total else None


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def percentile(values: Iterable[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); p in 0..100."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(ms: Iterable[float]) -> dict:
    xs = list(ms)
    return {"n": len(xs), "mean_ms": mean(xs), "p50_ms": percentile(xs, 50), "p95_ms": percentile(xs, 95),
            "max_ms": max(xs) if xs else None}
