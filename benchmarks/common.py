"""Shared plumbing for benchmarks: figures, machine facts, timing helpers.

Every benchmark module `benchmarks/bench_<name>.py` defines `run(quick: bool) -> list[Figure]`.
`python -m benchmarks.run` runs them (each in its own process), stores each module's figures in
benchmarks/results/<name>.json, and rewrites benchmarks/RESULTS.md from all stored results, so
one benchmark can be re-run without losing the others.

A figure is always measured beside its raw baseline in the same run; the ratio is the point.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["Figure", "machine", "versions", "timed", "percentile", "hearth_embedder", "ROOT", "RESULTS_DIR",
           "SHARED_DATA", "CACHE", "raw_embedder"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The project's development data (real SEC filings, moderation prompts); override with HEARTH_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("HEARTH_SHARED_DATA", ROOT.parent / "shared" / "data"))
# What benchmarks keep between runs (built indexes, synthetic models, the embedder's ONNX graph).
CACHE = Path(os.environ.get("HEARTH_BENCH_CACHE", Path.home() / ".cache" / "hearth-bench"))


def hearth_embedder(threads: int, precision: str = "int8"):
    """The embedder Hearth runs by default (app.hearth, embedding_backend=auto, embedding_precision=int8): ONNX
    Runtime over the embedded MiniLM, its graphs kept in CACHE. Baselines use sentence-transformers itself."""
    from app.services.models import embedded_embedding_model
    from rag.embed_onnx import OnnxEmbedder, reads

    model = embedded_embedding_model()
    assert reads(model), "the default embedder is not ONNX Runtime here: install onnx and onnxruntime"
    return OnnxEmbedder(model, cache_dir=CACHE / "onnx", threads=threads, precision=precision)


def raw_embedder(threads: int):
    """Raw sentence-transformers over the embedded MiniLM, on `threads` torch threads, warmed up: what the raw
    and naive baselines embed with."""
    import torch
    from sentence_transformers import SentenceTransformer

    from app.services.models import embedded_embedding_model

    torch.set_num_threads(threads)
    st = SentenceTransformer(str(embedded_embedding_model()), device="cpu", local_files_only=True)
    st.encode(["warm up"])
    return st


@dataclass
class Figure:
    group: str  # e.g. "ingest", "retrieval", "guard", "decode"
    name: str  # what was measured, in words
    value: float
    unit: str
    baseline: str = ""  # what it is compared with, in words
    baseline_value: float | None = None
    higher_is_better: bool = True
    target: str = ""  # the target, in words, e.g. ">= 3x baseline"
    met: bool | None = None  # whether the target was met
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("hearth-rag", "llama-cpp-python", "torch", "sentence-transformers", "chromadb", "gradio"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def timed(fn: Callable[[], object], repeat: int = 1) -> list[float]:
    """Wall-clock seconds of each call."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def save(name: str, figures: list[Figure], quick: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({
        "benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M %Z"), "quick": quick,
        "machine": machine(), "versions": versions(), "figures": [f.to_dict() for f in figures],
    }, indent=1, ensure_ascii=False))
    return path
