"""`hearth eval answers`: full guarded turns, checked against the gold evidence and answer without a judge."""

from __future__ import annotations

import time
from typing import Callable, Sequence

from evaluation.answer_checks import (cites_evidence, expected_items_found, gold_is_na, parse_numbers,
                                        salient_numbers, same_quantity, says_not_in_documents)
from evaluation.metrics import latency_summary, mean, rate
from evaluation.questions import Question

__all__ = ["check_answer", "summarise_answers", "evaluate_answers", "turn_row"]


def check_answer(q: Question, answer: str, blocked: bool, citations: Sequence[dict], not_found: bool = False) -> dict:
    """What can be told about one answer from the gold data alone. Pure. not_found: the turn refused (its support
    check: the documents do not hold the answer); an answer that says so counts as a refusal too.

    contains_gold: every `expect` item is in the answer; without `expect`, at least one figure of
    the gold answer is (None when the gold answer states no figure: that needs a judge).
    """
    na = gold_is_na(q.answer)
    out: dict = {"gold_na": na, "abstained": (not blocked) and (not_found or says_not_in_documents(answer))}
    out["cites_evidence"] = cites_evidence(citations, q.docs, q.pages) if q.docs and not blocked else None
    out["evidence_in_sources"] = (cites_evidence(citations, q.docs, q.pages, numbered_only=False)
                                  if q.docs and not blocked else None)
    out["abstain_correct"] = out["abstained"] if na and not blocked else None
    out["wrong_refusal"] = out["abstained"] if not na and not blocked else None
    out["gold_numbers"] = out["numbers_found"] = 0
    out["contains_gold"] = None
    if blocked or na:
        return out
    if q.expect:
        found = expected_items_found(answer, q.expect)
        out["expect_found"] = found
        out["contains_gold"] = all(found)
    gold = salient_numbers(q.answer or "")
    if gold:
        said = parse_numbers(answer)
        out["gold_numbers"] = len(gold)
        out["numbers_found"] = sum(any(same_quantity(g, s) for s in said) for g in gold)
        if not q.expect:
            out["contains_gold"] = out["numbers_found"] > 0
    return out


def summarise_answers(rows: Sequence[dict]) -> dict:
    """Rates over the rows each check applies to (None where it applies to none). Pure."""
    def share(key: str, rs=rows) -> float | None:
        applicable = [r[key] for r in rs if r.get(key) is not None]
        return rate(sum(bool(v) for v in applicable), len(applicable))

    answerable = [r for r in rows if not r["gold_na"] and not r["blocked"]]
    numbered = [r for r in rows if r["gold_numbers"]]
    out = {
        "n": len(rows),
        "blocked": rate(sum(r["blocked"] for r in rows), len(rows)),
        "cites_evidence": share("cites_evidence"),
        "evidence_in_sources": share("evidence_in_sources"),
        "contains_gold": share("contains_gold"),
        "checkable_gold": sum(r.get("contains_gold") is not None for r in rows),
        "number_recall": mean(r["numbers_found"] / r["gold_numbers"] for r in numbered),
        "abstain_correct": share("abstain_correct"),
        "gold_na": sum(r["gold_na"] for r in rows),
        "false_abstention": rate(sum(r["abstained"] for r in answerable), len(answerable)),
        "latency": latency_summary(r["latency_ms"] for r in rows if "latency_ms" in r),
        "tokens_per_s": mean(r["tokens_per_s"] for r in rows if r.get("tokens_per_s")),
        **_figure_totals(rows),
    }
    for key in ("faithfulness", "relevance"):
        scores = [r[key] for r in rows if r.get(key) is not None]
        if any(key in r for r in rows):
            out[key] = mean(scores)
            out[f"{key}_unreadable"] = sum(key in r and r[key] is None and not r["blocked"] for r in rows)
    return out


def _figure_totals(rows: Sequence[dict]) -> dict:
    """Figures in the answers, how many the passages hold, how many were marked not in the sources."""
    total, grounded = sum(r.get("figures", 0) for r in rows), sum(r.get("figures_grounded", 0) for r in rows)
    return {"figures": total, "figures_grounded": grounded, "figures_ungrounded": total - grounded,
            "figures_grounded_share": rate(grounded, total),
            "answers_with_ungrounded": sum(bool(r.get("figures_ungrounded")) for r in rows)}


def turn_row(turn: dict, latency_ms: float) -> dict:
    """The parts of a finished turn (TurnResult.to_dict()) a report shows."""
    t, figures = turn.get("timings", {}), turn.get("figures", [])
    gen_s = t.get("generation_ms", 0) / 1000
    return {
        "answer": turn["answer"], "blocked": turn["blocked"], "blocked_by": turn["blocked_by"],
        "not_found": turn.get("not_found", False),
        "message": turn["message"],
        "citations": [{k: c[k] for k in ("n", "file", "page", "cited")} for c in turn["citations"]],
        "checks": [{k: c[k] for k in ("stage", "layer", "status", "categories")} for c in turn["checks"]],
        "timings": t, "latency_ms": round(latency_ms, 1),
        "tokens": t.get("tokens", 0), "tokens_per_s": round(t["tokens"] / gen_s, 2) if gen_s and t.get("tokens") else None,
        "figures": len(figures), "figures_grounded": sum(f["grounded"] for f in figures),
        "figures_ungrounded": sum(not f["grounded"] for f in figures),
        "ungrounded": [f["text"] for f in figures if not f["grounded"]],
    }


def evaluate_answers(pipeline, questions: Sequence[Question],
                     progress: Callable[[int, int], None] | None = None) -> tuple[list[dict], list[list[dict]]]:
    """Ask each question through Pipeline.ask; returns the rows and, per row, the sources it was given."""
    rows, sources = [], []
    for i, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        turn = pipeline.ask(q.question).to_dict()
        row = {"id": q.id, "question": q.question, "kind": q.kind, "docs": list(q.docs), "pages": list(q.pages),
               "gold": q.answer, "expect": list(q.expect), **turn_row(turn, (time.perf_counter() - t0) * 1000)}
        row.update(check_answer(q, row["answer"], row["blocked"], row["citations"], row["not_found"]))
        rows.append(row)
        sources.append([{"file": s["file"], "page": s["page"], "text": s["text"]} for s in turn["sources"]])
        if progress:
            progress(i, len(questions))
    return rows, sources
