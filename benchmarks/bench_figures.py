"""Figure grounding over real SEC 10-Q filings: what checking an answer's figures costs, and how many of the
embedded model's figures the passages hold.

Hearth indexes the filings (kept in CACHE between runs), then answers sec10q questions with the embedded
SmolLM2-135M as a user would (Hearth.pipeline, figure_check=mark). For each answer:
- the grounding work of the turn (its figures parsed, matched against its 4 sources, evidence lines chosen),
  timed again in a loop, against the raw generation of that answer (the turn's generation time) and against
  a plain `re.findall` of the numbers in the answer and the sources (the least any number check costs);
- the figures grounded and marked, and whether any ungrounded figure reaches the page unmarked (format_turn);
- the gold answer's figures against the same passages (how many a correct answer would have grounded).

Quick mode: the four Apple filings, 6 questions; full: all 20 filings, 30 questions.
"""

from __future__ import annotations

import re
import statistics
import time

from benchmarks.common import CACHE, SHARED_DATA, Figure

SEC = SHARED_DATA / "sec10q"
LOOPS = 50
_RAW = re.compile(r"\d[\d,.]*")


def _loop_ms(fn) -> float:
    t0 = time.perf_counter()
    for _ in range(LOOPS):
        fn()
    return (time.perf_counter() - t0) * 1000 / LOOPS


def _turns(quick: bool) -> tuple[list, list, float]:
    from app.hearth import Hearth
    from app.settings import load_settings
    from evaluation.questions import load_questions, resolve_docs

    pdfs = sorted((SEC / "pdfs").glob("*AAPL*.pdf" if quick else "*.pdf"))
    names = {p.name for p in pdfs}
    questions = [q for q in load_questions(SEC / "questions.jsonl", require_docs=True) if set(q.docs) <= names]
    questions = resolve_docs(questions, sorted(names), SEC / "questions.jsonl")[: 6 if quick else 30]
    h = Hearth(load_settings({"data_dir": CACHE / "figures" / ("quick" if quick else "full"), "max_tokens": 160,
                              "temperature": 0.0}))
    try:
        t0 = time.perf_counter()
        list(h.ingest(pdfs))
        index_s = time.perf_counter() - t0
        pipeline = h.pipeline()
        return questions, [pipeline.ask(q.question) for q in questions], index_s
    finally:
        h.close()


def run(quick: bool) -> list[Figure]:
    from app.turn.grounding import evidence_lines, ground_figures, index_sources
    from app.web.present import format_turn

    questions, turns, index_s = _turns(quick)
    ground_ms, raw_ms, gen_ms = [], [], []
    total = grounded = unmarked = gold_total = gold_grounded = 0
    refused = sum(turn.not_found for turn in turns)  # "not in the documents": no answer was generated
    for q, turn in zip(questions, turns):
        if turn.blocked or not turn.sources or turn.not_found:
            continue

        def work(t=turn):
            found = ground_figures(t.answer, index_sources(t.sources))
            if not all(link.grounded for _, link in found):
                evidence_lines(t.question, t.sources)

        text = "\n".join([turn.answer, *(h.text for h in turn.sources)])
        ground_ms.append(_loop_ms(work))
        raw_ms.append(_loop_ms(lambda: _RAW.findall(text)))
        gen_ms.append(turn.timings["generation_ms"])
        total += len(turn.figures)
        grounded += sum(f.grounded for f in turn.figures)
        page = format_turn(turn)
        unmarked += sum(not f.grounded and f"{f.text}<sup>⚠" not in page for f in turn.figures)
        gold = ground_figures(q.answer or "", index_sources(turn.sources))
        gold_total += len(gold)
        gold_grounded += sum(link.grounded for _, link in gold)
    n = len(ground_ms)
    g, r, gen = statistics.median(ground_ms), statistics.median(raw_ms), statistics.median(gen_ms)
    share = grounded / total if total else None
    share_of_gen = 100 * statistics.median(a / b for a, b in zip(ground_ms, gen_ms))
    extra = {"answers": n, "figures": total, "grounded": grounded, "marked": total - grounded,
             "unmarked": unmarked, "refused": refused, "gold_figures": gold_total, "gold_grounded": gold_grounded,
             "index_s": round(index_s, 1), "ground_ms": ground_ms, "generation_ms": gen_ms}
    how = f"median over {n} answers of SmolLM2-135M (max 160 tokens), each timed over {LOOPS} loops"
    return [
        Figure("figures", "grounding an answer's figures against its 4 sources (parse, match, evidence lines), "
               "as a share of the raw generation of that answer", share_of_gen, "%", higher_is_better=False,
               target="<= 1%", met=share_of_gen <= 1.0,
               note=f"{g:.2f} ms against {gen / 1000:.1f} s of generation; {how}", extra=extra),
        Figure("figures", "grounding an answer's figures against its 4 sources", g, "ms",
               "plain re.findall of the numbers in the answer and its sources", r, higher_is_better=False,
               note="the least any number check costs; same text, same loops"),
        Figure("figures", "the embedded model's figures held by the passages (grounded)",
               100 * share if share is not None else float("nan"), "%", higher_is_better=True,
               note=f"{grounded} of {total} figures grounded, {total - grounded} marked \"not in the sources\", "
               f"over {n} sec10q answers ({refused} of {len(turns)} questions answered \"not in the documents\")"),
        Figure("figures", "ungrounded figures shown on the page unmarked", unmarked, "figures",
               higher_is_better=False, target="0", met=unmarked == 0, note="format_turn of every answer, mark mode"),
        Figure("figures", "the gold answers' figures held by the same passages", 100 * gold_grounded / gold_total
               if gold_total else float("nan"), "%", note=f"{gold_grounded} of {gold_total}: what a correct answer "
               "would have had grounded (bounded by retrieval: the passages are the top 4)"),
    ]
