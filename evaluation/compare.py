"""`hearth compare`: the same questions to several chat models, one model loaded at a time.

Without documents each question goes to the model as a plain chat turn, checked by both guard
layers on the question and on the answer, as a Hearth turn is. With documents, each model
answers through the full guarded pipeline.
"""

from __future__ import annotations

import time
from importlib.resources import files
from typing import Callable, Mapping, Sequence

from evaluation.answers import turn_row
from evaluation.metrics import latency_summary, mean
from evaluation.questions import Question

__all__ = ["guarded_chat", "summarise_model", "compare_rows", "model_label", "DEFAULT_QUESTIONS"]

# The ten questions of the ChatGLM3-6B vs Qwen-7B-Chat comparison (see data/README.md).
DEFAULT_QUESTIONS = files("evaluation") / "data" / "zh_compare_questions.jsonl"


def _checks(layers: Sequence, stage: str, conversation) -> list[dict]:
    out = []
    for layer in layers:
        v = layer.check(conversation)
        out.append({"stage": stage, "layer": v.layer, "status": v.status, "categories": list(v.categories)})
    return out


def _stops(checks: Sequence[dict]) -> dict | None:
    return next((c for c in checks if c["status"] in ("blocked", "error")), None)


def guarded_chat(model, layers: Sequence, question: str, *, max_tokens: int, temperature: float) -> dict:
    """One plain chat turn: question checks, a streamed answer, answer checks. Returns a TurnResult-like dict."""
    turn = {"answer": "", "blocked": False, "blocked_by": "", "message": "", "citations": [], "sources": [],
            "checks": _checks(layers, "question", [("user", question)]), "timings": {}}
    if stop := _stops(turn["checks"]):
        return {**turn, "blocked": True, "blocked_by": f"question/{stop['layer']}"}
    t0 = time.perf_counter()
    pieces = []
    for piece in model.stream([{"role": "user", "content": question}], max_tokens=max_tokens,
                              temperature=temperature):
        if not pieces:
            turn["timings"]["first_token_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        pieces.append(piece)
    answer = "".join(pieces).strip()
    turn["timings"].update(generation_ms=round((time.perf_counter() - t0) * 1000, 1), tokens=len(pieces))
    turn["checks"] += _checks(layers, "answer", [("user", question), ("assistant", answer)])
    if stop := _stops(turn["checks"]):
        return {**turn, "blocked": True, "blocked_by": f"answer/{stop['layer']}"}
    return {**turn, "answer": answer}


def compare_rows(ask: Callable[[str], dict], questions: Sequence[Question],
                 progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """ask(question) -> a turn dict; one row per question."""
    rows = []
    for i, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        turn = ask(q.question)
        rows.append({"id": q.id, "question": q.question, **turn_row(turn, (time.perf_counter() - t0) * 1000)})
        if progress:
            progress(i, len(questions))
    return rows


def summarise_model(rows: Sequence[dict]) -> dict:
    """Latency, decode speed, answer length and guard outcomes of one model's rows. Pure."""
    first = [r["timings"]["first_token_ms"] for r in rows if "first_token_ms" in r["timings"]]
    statuses: dict[str, int] = {}
    for r in rows:
        for c in r["checks"]:
            key = f"{c['stage']}/{c['layer']}/{c['status']}"
            statuses[key] = statuses.get(key, 0) + 1
    return {
        "n": len(rows),
        "blocked": sum(r["blocked"] for r in rows),
        "latency": latency_summary(r["latency_ms"] for r in rows),
        "first_token_ms": mean(first),
        "tokens_per_s": mean(r["tokens_per_s"] for r in rows if r.get("tokens_per_s")),
        "tokens": sum(int(r["tokens"]) for r in rows),
        "answer_chars": mean(len(r["answer"]) for r in rows),
        "checks": dict(sorted(statuses.items())),
    }


def model_label(path, taken: Mapping[str, object]) -> str:
    """The file name, made unique when two models share one."""
    name = getattr(path, "name", str(path))
    label, n = name, 2
    while label in taken:
        label, n = f"{name} ({n})", n + 1
    return label

