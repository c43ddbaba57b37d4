"""Llama Guard check time, cold vs warm, and what the per-role KV cache saves when User (question)
and Agent (answer) checks alternate, as they do in every turn.

Models: SmolLM2-135M (the embedded GGUF, standing in for the guard: same code path, its verdicts
mean nothing) and a synthetic random-weight GGUF of Llama-3.2-1B's shape (Llama Guard 3 1B's),
written by ../shared/gpu/synth_gguf.py and quantized to Q4_K_M like the real download. The
synthetic model has no real vocabulary, so its prompts are SmolLM2's token ids (a similar BPE);
timing depends on shapes and token counts, not on weights.

Figures: the first check (the whole policy read; the raw baseline: what every check costs without
prefix reuse) against warm checks of the same role, and alternating question/answer checks with
the saved per-role cache against the same checks without it (the old behaviour, where the role word
in the policy's first line made each alternation re-read the policy).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, Figure

SYNTH = ROOT.parent / "shared" / "gpu" / "synth_gguf.py"
CACHE = Path(os.environ.get("HEARTH_BENCH_CACHE", "/tmp/hearth-bench"))
THREADS = int(os.environ.get("HEARTH_BENCH_THREADS", "2"))

QUESTIONS = ["What were total net sales in the third quarter?", "How did gross margin change?",
             "What are the main risk factors?", "How much cash did the company hold?"]
ANSWER = "Total net sales were $83.0 billion, down 1 percent from a year earlier [1]."


def _synthetic_1b() -> Path | None:
    """The Q4_K_M synthetic 1B model, written once into HEARTH_BENCH_CACHE."""
    import ctypes

    import llama_cpp

    CACHE.mkdir(parents=True, exist_ok=True)
    q4, f16 = CACHE / "synth-1b-q4_k_m.gguf", CACHE / "synth-1b-f16.gguf"
    if q4.is_file():
        return q4
    if not SYNTH.is_file():
        return None
    if not f16.is_file():
        subprocess.run([sys.executable, str(SYNTH), str(f16), "1b"], check=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = THREADS
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    if llama_cpp.llama_model_quantize(str(f16).encode(), str(q4).encode(), ctypes.byref(params)) != 0:
        return None
    return q4


def _timed(guard, conversation) -> float:
    t0 = time.perf_counter()
    v = guard.check(conversation)
    if v.status == "error":
        raise RuntimeError(v.reason)
    return time.perf_counter() - t0


def _measure(guard, rounds: int) -> dict:
    """cold: the first check; warm: same-role checks; alternating with and without the per-role cache."""
    cold = _timed(guard, [("user", QUESTIONS[0])])
    warm = [_timed(guard, [("user", q)]) for q in QUESTIONS[1:1 + rounds]]
    _timed(guard, [("user", QUESTIONS[0]), ("assistant", ANSWER)])  # both roles have been seen once
    with_cache, without = [], []
    for i in range(rounds):
        q = QUESTIONS[i % len(QUESTIONS)]
        with_cache += [_timed(guard, [("user", q)]), _timed(guard, [("user", q), ("assistant", ANSWER)])]
    for i in range(rounds):
        q = QUESTIONS[i % len(QUESTIONS)]
        for conv in ([("user", q)], [("user", q), ("assistant", ANSWER)]):
            guard._saved.clear()  # the old behaviour: only the common prefix up to the role word is reused
            without.append(_timed(guard, conv))
    return {"cold": cold, "warm": statistics.median(warm), "alt_cache": statistics.median(with_cache),
            "alt_nocache": statistics.median(without)}


def _figures(label: str, m: dict, note: str) -> list[Figure]:
    return [
        Figure("guard", f"{label}: warm check, same role", m["warm"], "s", "first (cold) check: whole policy read",
               m["cold"], higher_is_better=False, note=note),
        Figure("guard", f"{label}: alternating question/answer checks, per-role KV cache", m["alt_cache"], "s",
               "same checks without the saved cache", m["alt_nocache"], higher_is_better=False, note=note),
    ]


def run(quick: bool) -> list[Figure]:
    from engine.llamacpp import open_llama
    from app.services.models import embedded_chat_model
    from guard import LlamaGuard

    rounds = 2 if quick else 4
    smol_path = embedded_chat_model()
    smol = LlamaGuard(smol_path, verify_model=False, min_format_mass=0.0, n_ctx=2048, n_threads=THREADS,
                      timeout_s=3600)
    t0 = time.perf_counter()
    smol.load()
    load_s = time.perf_counter() - t0
    figures = _figures("SmolLM2-135M Q4_1", _measure(smol, rounds), f"{THREADS} threads; model load {load_s:.1f} s")

    synth = _synthetic_1b()
    if synth is not None:
        # Bench-only wiring: the synthetic model has no vocabulary, so it reads SmolLM2's token ids.
        guard = LlamaGuard(synth, verify_model=False, min_format_mass=0.0, n_ctx=2048, n_threads=THREADS,
                           timeout_s=3600)
        guard._llm = open_llama(synth, n_ctx=2048, n_threads=THREADS, verbose=False)
        guard._word_ids, guard.variant = smol._word_ids, "llama-guard-3-1b"
        guard._tokens = lambda llm, prompt: smol._tokens(smol._llm, prompt)
        figures += _figures("synthetic Llama-3.2-1B shape Q4_K_M", _measure(guard, 1 if quick else rounds),
                            f"{THREADS} threads; random weights, SmolLM2 token ids")
        guard.close()
    smol.close()
    return figures
