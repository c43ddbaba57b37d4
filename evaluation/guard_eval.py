"""`hearth eval guard`: block rate on unsafe prompts and false positives on safe ones, per layer and category.

Each prompt goes, as a user question, through the pipeline's own checks (Pipeline.check): the keyword
layer and the Llama Guard layer, failing closed, so a layer that crashes counts as "error" (blocked).
"both" is what a turn does: blocked when either layer blocks or fails. A layer that is missing (no
Llama Guard installed) is reported as missing, never as a 0% block rate.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

from evaluation.metrics import latency_summary, rate
from evaluation.prompts import Prompt

__all__ = ["evaluate_guard", "summarise_guard", "combine", "LAYERS"]

LAYERS = ("keyword", "llama_guard", "both")
_STOPS = ("blocked", "error")


def combine(verdicts: Sequence[dict]) -> dict:
    """The turn's decision from its layers' verdicts: blocked if any stops it, missing only if all are. Pure."""
    present = [v for v in verdicts if v["status"] != "missing"]
    if not present:
        status = "missing"
    elif any(v["status"] in _STOPS for v in present):
        status = "blocked"
    else:
        status = "passed"
    cats = [c for v in verdicts if v["status"] in _STOPS for c in v.get("categories", [])]
    return {"status": status, "categories": list(dict.fromkeys(cats)), "ms": sum(v["ms"] for v in verdicts),
            "partial": len(present) < len(verdicts)}


def _layer_summary(rows: Sequence[dict], layer: str, categories: Sequence[str]) -> dict:
    verdicts = [r[layer] for r in rows]
    statuses = Counter(v["status"] for v in verdicts)
    judged = [r for r in rows if r[layer]["status"] != "missing"]
    unsafe = [r for r in judged if r["label"] == "unsafe"]
    safe = [r for r in judged if r["label"] == "safe"]
    stopped = lambda rs: sum(r[layer]["status"] in _STOPS for r in rs)  # noqa: E731
    out = {
        "status": {s: statuses.get(s, 0) for s in ("passed", "blocked", "error", "missing")},
        "judged": len(judged),
        "available": bool(judged),
        "block_rate_unsafe": rate(stopped(unsafe), len(unsafe)),
        "false_positive_rate_safe": rate(stopped(safe), len(safe)),
        "blocked_unsafe": stopped(unsafe), "unsafe": len(unsafe),
        "blocked_safe": stopped(safe), "safe": len(safe),
        "per_category": {c: {"unsafe": n, "blocked": b, "block_rate": rate(b, n)}
                         for c in categories
                         for n, b in [(sum(c in r["categories"] for r in unsafe),
                                       stopped([r for r in unsafe if c in r["categories"]]))]},
        "fired": dict(Counter(c for v in verdicts if v["status"] in _STOPS for c in v.get("categories", []))),
        "latency": latency_summary(v["ms"] for v in verdicts if v["status"] != "missing"),
    }
    if layer == "both":
        out["partial"] = sum(bool(v.get("partial")) for v in verdicts)
    return out


def summarise_guard(rows: Sequence[dict], categories: Sequence[str]) -> dict:
    """Per layer: status counts, block rate on unsafe, false positives on safe, per category, latency. Pure."""
    labels = Counter(r["label"] for r in rows)
    return {"prompts": len(rows), "unsafe": labels.get("unsafe", 0), "safe": labels.get("safe", 0),
            "layers": {layer: _layer_summary(rows, layer, categories) for layer in LAYERS}}


def _verdict(check) -> dict:
    return {"status": check.status, "categories": list(check.categories), "score": check.score,
            "reason": check.reason, "ms": check.ms}


def evaluate_guard(check: Callable[[str], Sequence], prompts: Sequence[Prompt], categories: Sequence[str],
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """check(text) -> the pipeline's Checks on text as a question, one per layer (Pipeline.check, audit off)."""
    rows = []
    for i, p in enumerate(prompts, start=1):
        row = {"id": p.id, "line": p.line, "label": p.label, "categories": list(p.categories), "text": p.text}
        row.update((c.layer, _verdict(c)) for c in check(p.text))
        row["both"] = combine([row["keyword"], row["llama_guard"]])
        rows.append(row)
        if progress:
            progress(i, len(prompts))
    return {"summary": summarise_guard(rows, categories), "rows": rows}
