"""`hearth compare`: the same questions to several chat models, one model loaded at a time.

Every question is a turn of the one pipeline: without documents a plain chat turn (no retrieval),
with documents a full guarded RAG turn; either way both guard layers check the question and the
answer, failing closed, as in any Hearth turn.
"""

from __future__ import annotations

import time
from importlib.resources import files
from typing import Callable, Mapping, Sequence

from evaluation.answers import turn_row
from evaluation.metrics import latency_summary, mean
from evaluation.questions import Question

__all__ = ["summarise_model", "compare_rows", "model_label", "DEFAULT_QUESTIONS"]

# The ten questions of the ChatGLM3-6B vs Qwen-7B-Chat comparison (see data/README.md).
DEFAULT_QUESTIONS = files("evaluation") / "data" / "zh_compare_questions.jsonl"


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

