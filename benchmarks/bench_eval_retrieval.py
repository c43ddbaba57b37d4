"""Retrieval quality on real SEC 10-Q filings: `hearth eval retrieval` beside a raw Chroma dense baseline.

Hearth: the folder indexed by Hearth (its loader, its splitter, MiniLM, Chroma) and searched with
Library.search, scored by evaluation/ (the same code as `hearth eval retrieval`).
Baseline, what a notebook would do: pypdfium2 page text cut into fixed 1,000-character windows,
the same MiniLM through sentence-transformers, a default Chroma collection, `collection.query`.
Both are scored with the same metric functions on the same questions (docugami sec10q: evidence is
the document, so document hit@k and MRR; no page numbers).

Quick mode: the four Apple filings and the questions about them only.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.common import SHARED_DATA, Figure, percentile

SEC = SHARED_DATA / "sec10q"
KS = (1, 5, 10)
WINDOW = 1000


def _questions(pdfs: list[Path]):
    from evaluation.questions import load_questions, resolve_docs

    names = {p.name for p in pdfs}
    questions = [q for q in load_questions(SEC / "questions.jsonl", require_docs=True) if set(q.docs) <= names]
    return resolve_docs(questions, sorted(names), SEC / "questions.jsonl")


def _hearth_run(pdfs: list[Path], questions, work: Path) -> dict:
    from app.hearth import Hearth
    from app.settings import load_settings
    from evaluation.collection import prepare_collection
    from evaluation.retrieval import evaluate_retrieval

    docs = work / "docs"
    docs.mkdir(parents=True)
    for p in pdfs:
        (docs / p.name).symlink_to(p)
    h = Hearth(load_settings({"data_dir": work / "hearth-data"}))
    try:
        t0 = time.perf_counter()
        library, col = prepare_collection(h, docs, "bench")
        index_s = time.perf_counter() - t0
        result = evaluate_retrieval(library, questions, KS)
    finally:
        h.close()
    return {"summary": result["summary"]["all"], "index_s": index_s, "chunks": col["chunks"],
            "latency_ms": [r["latency_ms"] for r in result["rows"]]}


def raw_index(pdfs: list[Path], model, col) -> int:
    """The notebook baseline's index: each page's text (pypdfium2) in WINDOW-character windows, embedded by `model`
    (sentence-transformers), added to the Chroma collection `col` with their file and page. Returns the windows."""
    import pypdfium2 as pdfium

    texts, metas = [], []
    for p in pdfs:
        pdf = pdfium.PdfDocument(p)
        for i in range(len(pdf)):
            text = pdf[i].get_textpage().get_text_range()
            for start in range(0, len(text), WINDOW):
                if text[start:start + WINDOW].strip():
                    texts.append(text[start:start + WINDOW])
                    metas.append({"file": p.name, "page": i + 1})
        pdf.close()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    for i in range(0, len(texts), 1000):
        col.add(ids=[str(j) for j in range(i, min(i + 1000, len(texts)))], embeddings=vectors[i:i + 1000].tolist(),
                documents=texts[i:i + 1000], metadatas=metas[i:i + 1000])
    return len(texts)


def raw_search(col, model, questions) -> tuple[list[dict], list[float]]:
    """Each question through the baseline: one encode, one `collection.query` for max(KS) windows; the scored rows
    (evaluation.retrieval.score_question) and the latencies in ms."""
    from evaluation.retrieval import score_question

    rows, latency = [], []
    for q in questions:
        t1 = time.perf_counter()
        res = col.query(query_embeddings=model.encode([q.question], normalize_embeddings=True).tolist(),
                        n_results=max(KS), include=["metadatas"])
        latency.append((time.perf_counter() - t1) * 1000)
        rows.append(score_question(q, [(m["file"], m["page"]) for m in res["metadatas"][0]], KS))
    return rows, latency


def _baseline_run(pdfs: list[Path], questions, work: Path) -> dict:
    import chromadb
    from sentence_transformers import SentenceTransformer

    from app.services.models import embedded_embedding_model
    from evaluation.retrieval import summarise

    t0 = time.perf_counter()
    model = SentenceTransformer(str(embedded_embedding_model()), device="cpu")
    client = chromadb.PersistentClient(str(work / "raw-chroma"))
    col = client.create_collection("raw")
    windows = raw_index(pdfs, model, col)
    index_s = time.perf_counter() - t0
    rows, latency = raw_search(col, model, questions)
    return {"summary": summarise(rows, KS), "index_s": index_s, "chunks": windows, "latency_ms": latency}


def run(quick: bool) -> list[Figure]:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    pdfs = sorted((SEC / "pdfs").glob("*AAPL.pdf" if quick else "*.pdf"))
    if not pdfs:
        raise SystemExit(f"{SEC / 'pdfs'}: no PDFs; set HEARTH_SHARED_DATA to the project's shared data folder.")
    questions = _questions(pdfs)
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        hearth = _hearth_run(pdfs, questions, Path(tmp) / "h")
        raw = _baseline_run(pdfs, questions, Path(tmp))
    setup = (f"{len(pdfs)} filings, {len(questions)} questions; Hearth {hearth['chunks']} chunks, "
             f"baseline {raw['chunks']} windows")
    base = f"raw Chroma dense ({WINDOW}-char windows, same MiniLM)"
    figures = [Figure("eval retrieval", f"document hit@{k}", hearth["summary"][f"doc_hit@{k}"], "share", base,
                      raw["summary"][f"doc_hit@{k}"], note=setup if k == 5 else "",
                      target=">= baseline" if k == 5 else "",
                      met=hearth["summary"]["doc_hit@5"] >= raw["summary"]["doc_hit@5"] if k == 5 else None)
               for k in KS]
    figures.append(Figure("eval retrieval", "MRR (first evidence document)", hearth["summary"]["mrr"], "", base,
                          raw["summary"]["mrr"]))
    figures.append(Figure("eval retrieval", "search latency p50", percentile(hearth["latency_ms"], 50), "ms",
                          "raw Chroma query (same MiniLM)", percentile(raw["latency_ms"], 50),
                          higher_is_better=False))
    figures.append(Figure("eval retrieval", "index the filings", hearth["index_s"], "s",
                          "raw: extract, window, embed, add", raw["index_s"], higher_is_better=False))
    return figures
