"""'Not in the documents' over real SEC 10-Q filings: the trade-off between refusing answerable questions and
answering unanswerable ones, at several thresholds, against the plain similarity cut-off most RAG apps use.

The questions are evaluation/data/sec10q_support.jsonl: 40 answerable ones about the 20 filings of
../shared/data/sec10q (each names its filing), next to 46 that the filings do not answer: 14 about companies
not in them, 13 about periods they do not cover, 13 about metrics a 10-Q does not report (units sold,
members, emissions, salaries), and 6 off-topic ones (the capital of France). Retrieval only: each question is
searched as a turn searches it (Library.search, top 4, the index kept under HEARTH_BENCH_CACHE), then
- Hearth: app.turn.support.judge_support (names and periods the library lacks, then the best passage's
  similarity against the threshold), the decision the turn makes before the model is asked;
- baseline: the best passage's similarity against the same threshold, nothing else (a similarity cut-off,
  as in LangChain's similarity_score_threshold).
No chat model runs: the decision is made before one would. Also: what the decision costs beside the search.

Quick mode: the four Apple filings; the answerable questions about them and all the unanswerable ones.
"""

from __future__ import annotations

import statistics
import time

from benchmarks.common import CACHE, ROOT, SHARED_DATA, Figure

SEC = SHARED_DATA / "sec10q"
QUESTIONS = ROOT / "evaluation" / "data" / "sec10q_support.jsonl"
THRESHOLDS = (0.2, 0.25, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7)
TOP_K = 4


def _judged(quick: bool) -> list[dict]:
    """Each question's structural verdict (threshold 0), best similarity, and timings."""
    from app.hearth import Hearth
    from app.settings import load_settings
    from app.turn.support import judge_support, question_words
    from evaluation.questions import load_questions

    pdfs = sorted((SEC / "pdfs").glob("*AAPL*.pdf" if quick else "*.pdf"))
    if not pdfs:
        raise SystemExit(f"{SEC / 'pdfs'}: no PDFs; set HEARTH_SHARED_DATA to the project's shared data folder.")
    names = {p.name for p in pdfs}
    questions = [q for q in load_questions(QUESTIONS) if q.answer == "N/A" or set(q.docs) <= names]
    h = Hearth(load_settings({"data_dir": CACHE / "figures" / ("quick" if quick else "full")}))
    try:
        list(h.ingest(pdfs))  # unchanged files are skipped: the cached index is reused
        library = h.documents.library()
        library.search("warm up", TOP_K)
        rows = []
        for q in questions:
            t0 = time.perf_counter()
            hits = library.search(q.question, TOP_K)
            t1 = time.perf_counter()
            s = judge_support(q.question, hits, library.abouts(), library.present_words(question_words(q.question)),
                              threshold=0.0)
            t2 = time.perf_counter()
            rows.append({"id": q.id, "kind": q.meta.get("notes", ""), "answerable": q.answer != "N/A",
                         "structural": s.supported, "best": s.score, "reason": s.reason,
                         "evidence_found": bool(set(q.docs) & {x.file for x in hits}) if q.docs else None,
                         "search_ms": (t1 - t0) * 1000, "decide_ms": (t2 - t1) * 1000})
        return rows
    finally:
        h.close()


def _rates(rows: list[dict], refuse) -> tuple[float, float]:
    """(% of answerable questions refused, % of unanswerable questions answered) under a refusal rule."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    return (100 * sum(refuse(r) for r in ans) / len(ans), 100 * sum(not refuse(r) for r in una) / len(una))


def run(quick: bool) -> list[Figure]:
    from app.turn.support import DEFAULT_THRESHOLD

    rows = _judged(quick)
    n_ans = sum(r["answerable"] for r in rows)
    n_una = len(rows) - n_ans
    figures = []
    for th in THRESHOLDS:
        wrong, answered = _rates(rows, lambda r, t=th: not r["structural"] or r["best"] < t)
        base_wrong, base_answered = _rates(rows, lambda r, t=th: r["best"] < t)
        default = " (the default)" if th == DEFAULT_THRESHOLD else ""
        figures += [
            Figure("not in the documents", f"threshold {th:.2f}{default}: answerable questions refused", wrong, "%",
                   "similarity cut-off alone, same threshold", base_wrong, higher_is_better=False,
                   note=f"of {n_ans} answerable"),
            Figure("not in the documents", f"threshold {th:.2f}{default}: unanswerable questions answered", answered,
                   "%", "similarity cut-off alone, same threshold", base_answered, higher_is_better=False,
                   note=f"of {n_una} unanswerable"),
        ]
    for kind in ("company", "period", "metric", "off-topic"):
        group = [r for r in rows if r["kind"] == f"unanswerable: {kind}"]
        caught = sum(not r["structural"] or r["best"] < DEFAULT_THRESHOLD for r in group)
        base = sum(r["best"] < DEFAULT_THRESHOLD for r in group)
        figures.append(Figure("not in the documents", f"unanswerable ({kind}) refused at the "
                              f"default {DEFAULT_THRESHOLD:.2f}", 100 * caught / len(group) if group else float("nan"),
                              "%", "similarity cut-off alone", 100 * base / len(group) if group else None,
                              note=f"{caught} of {len(group)}"))
    best_ans = [r["best"] for r in rows if r["answerable"]]
    best_una = [r["best"] for r in rows if not r["answerable"]]
    found = [r["evidence_found"] for r in rows if r["evidence_found"] is not None]
    decide, search = statistics.median(r["decide_ms"] for r in rows), statistics.median(r["search_ms"] for r in rows)
    figures += [
        Figure("not in the documents", "best passage similarity, answerable questions (median)",
               statistics.median(best_ans), "", "unanswerable questions (median)", statistics.median(best_una),
               note=f"min {min(best_ans):.3f} answerable; unanswerable {min(best_una):.3f}-{max(best_una):.3f}; "
               f"the named filing among the top {TOP_K} for {sum(found)} of {len(found)} answerable"),
        Figure("not in the documents", "the support decision per question (median)", decide, "ms",
               f"the search it follows (Library.search, top {TOP_K})", search, higher_is_better=False,
               target="<= 10% of the search", met=decide <= 0.1 * search,
               extra={"rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                               for r in rows]}),
    ]
    return figures
