"""A soak: the load mix of benchmarks/bench_load.py in small rounds for 30 minutes (BENCH_SOAK_MINUTES), each
round 8 API clients x 3 requests, a turn for each of two page users (chats cleared) and a page ingest of the 10-Q
whose document is then removed, after two warm-up rounds; the process's resident memory (RSS) sampled every 10 s
and at each round's end, and its slope fitted. Every round's promises are checked as in the load."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.bench_load import Mix, Outcome, rss_mb, slope_mb_per_hour, start
from benchmarks.common import Figure


def soak(mix: Mix, seconds: float, sample_s: float = 10.0) -> tuple[list[tuple[float, float]], Outcome, list]:
    """Two warm-up rounds with a page ingest each (the second ingest reaches the high-water mark of ONNX Runtime's
    and Chroma's buffers: measured +240 MB once, then about 2 MB an ingest), then the mix in small rounds, each
    with an ingest, for `seconds`, RSS sampled; (samples after the warm-up, all rounds' outcome, RSS at each
    round's end as (seconds, MB))."""
    total = Outcome()

    def one_round():
        o = mix.run_round(requests=3, page_turns=1, ingest=True, limited=False)
        total.api_ok += o.api_ok
        total.page_turns += o.page_turns
        total.problems += o.problems

    for _ in range(2):
        one_round()
    samples: list[tuple[float, float]] = []
    ends: list[tuple[float, float]] = []
    done = threading.Event()
    t0 = time.monotonic()

    def sample():
        while not done.wait(0 if not samples else sample_s):
            samples.append((time.monotonic() - t0, rss_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    while time.monotonic() - t0 < seconds:
        one_round()
        ends.append((time.monotonic() - t0, rss_mb()))
    done.set()
    sampler.join()
    samples.append((time.monotonic() - t0, rss_mb()))
    total.wall_s = time.monotonic() - t0
    return samples, total, ends


def run(quick: bool) -> list[Figure]:
    minutes = 2 if quick else int(os.environ.get("BENCH_SOAK_MINUTES", "30"))
    with tempfile.TemporaryDirectory(prefix="hearth-bench-soak-") as tmp:
        hearth, demo, url = start(Path(tmp) / "data", port=7960)
        try:
            samples, soaked, ends = soak(Mix(hearth, url), minutes * 60)
        finally:
            demo.close()
            hearth.close()
    rss = [m for _, m in samples]
    return [
        Figure("soak", f"RSS slope over {minutes} min of the mix, after two warm-up rounds", slope_mb_per_hour(samples),
               "MB/hour", higher_is_better=False, note=f"{len(samples)} samples every 10 s; {len(ends)} rounds of 8 "
               f"clients x 3 requests, a page turn each and a page ingest of the 10-Q (then removed); "
               f"{soaked.api_ok} API requests, {soaked.page_turns} page turns in all",
               extra={"samples": [[round(t), round(m, 1)] for t, m in samples]}),
        Figure("soak", "RSS slope over the rounds' ends", slope_mb_per_hour(ends), "MB/hour", higher_is_better=False,
               note="RSS at each round's end: " + ", ".join(f"{m:.0f}" for _, m in ends),
               extra={"ends": [[round(t), round(m, 1)] for t, m in ends]}),
        Figure("soak", "RSS at the end of the soak", rss[-1], "MB", "after the warm-up", rss[0],
               higher_is_better=False, note=f"peak {max(rss):.0f} MB"),
        Figure("soak", "broken promises during the soak (warm-up included)", len(soaked.problems), "",
               higher_is_better=False, target="0", met=not soaked.problems, note="; ".join(soaked.problems[:3])),
    ]
