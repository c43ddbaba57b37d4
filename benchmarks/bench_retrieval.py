"""Retrieval quality and latency on the sec10q filings: dense only vs hybrid (dense + BM25, RRF) vs hybrid + MMR.

Questions are the single-document ones of sec10q/questions.jsonl (evidence is a whole filing, no page):
a question is answered when a passage of its filing is in the top 5. MRR is over the top 10.
No cross-encoder is installed here, so rerank is not measured; query rewriting is not measured either
(both are off by default).

    python -m benchmarks.run retrieval [--quick]   # quick: the 4 filings with most questions; full: all 20
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import SHARED_DATA, Figure, percentile

DATA = SHARED_DATA / "sec10q"
QUICK_FILES = 4
K = 5


def questions() -> list[dict]:
    rows = [json.loads(line) for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [q for q in rows if q.get("doc")]


def run(quick: bool) -> list[Figure]:
    from app.models import embedded_embedding_model
    from rag import Catalog, Embedder, Library, Store, TokenCounter, open_chroma

    qs = questions()
    names = sorted(p.name for p in (DATA / "pdfs").glob("*.pdf"))
    if quick:
        names = sorted(n for n, _ in Counter(q["doc"] for q in qs).most_common(QUICK_FILES))
    qs = [q for q in qs if q["doc"] in names]
    model = embedded_embedding_model()
    data = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    embedder = Embedder(model, threads=os.cpu_count() or 1)
    tokens = TokenCounter(model)
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "bench"),
                  embedder=embedder, collection="bench", chunk_size=256, chunk_overlap=32, tokens=tokens,
                  max_tokens=tokens.max_tokens)
    results = list(lib.ingest([DATA / "pdfs" / n for n in names]))
    chunks = sum(r.chunks for r in results)

    modes = {
        "dense only": dict(lexical=False, mmr_lambda=1.0),
        "hybrid (RRF)": dict(mmr_lambda=1.0),
        "hybrid + MMR 0.7 (default)": dict(),
    }
    scores: dict[str, dict] = {}
    for mode, options in modes.items():
        hit, rr, times = 0, 0.0, []
        for q in qs:
            t0 = time.perf_counter()
            found = lib.search(q["question"], k=10, **options)
            times.append(time.perf_counter() - t0)
            files = [h.file for h in found]
            hit += q["doc"] in files[:K]
            rr += 1 / (files.index(q["doc"]) + 1) if q["doc"] in files else 0
        scores[mode] = {"hit": hit / len(qs), "mrr": rr / len(qs), "p50": percentile(times, 50) * 1000,
                        "p95": percentile(times, 95) * 1000}
    # the raw dense baseline for latency: one embed and one Chroma query
    raw = []
    for q in qs:
        t0 = time.perf_counter()
        lib.store.query(embedder.embed([q["question"]])[0], 10)
        raw.append(time.perf_counter() - t0)
    raw_p95 = percentile(raw, 95) * 1000

    what = f"{len(qs)} single-document questions, {len(names)} filings, {chunks} chunks"
    dense = scores["dense only"]
    figures = []
    for mode, s in scores.items():
        figures.append(Figure("retrieval", f"right filing in top {K}: {mode} ({what})", s["hit"] * 100, "%",
                              "dense only", dense["hit"] * 100, target=">= 95%", met=s["hit"] >= 0.95,
                              note=f"MRR {s['mrr']:.3f} (dense {dense['mrr']:.3f})"))
    default = scores["hybrid + MMR 0.7 (default)"]
    figures.append(Figure("retrieval", f"query latency p95, hybrid + MMR, top 10 ({chunks} chunks)", default["p95"], "ms",
                          "raw: embed + one Chroma query", raw_p95, higher_is_better=False,
                          target="p95 < 100 ms", met=default["p95"] < 100,
                          note=f"p50 {default['p50']:.0f} ms; not measured at 10k/100k chunks; shared 2-core machine"))
    return figures
