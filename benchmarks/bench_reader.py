"""The reader's ceilings (rag/bounded.py): what reading in a reader process of its own costs against reading in
this process (the baseline: rag.load.load_document, the same readers), and how fast hostile files are refused: a
flate bomb, a 2,000-page PDF under a short time ceiling, deeply nested HTML. Then a coverage-guided atheris run over
the readers (tests/fuzz_loaders.py), longer than the suite's: inputs tried and findings."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, Figure, percentile

PDF = ROOT / "tests" / "data" / "aapl-2022-q3-10q.pdf"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _pair(baseline, measured, rounds: int = 3) -> tuple[float, float]:
    """The best of a few rounds of each, taking turns."""
    pairs = [(_timed(baseline), _timed(measured)) for _ in range(rounds)]
    return min(p[0] for p in pairs), min(p[1] for p in pairs)


def _refusal(path: Path, limits) -> tuple[float, str]:
    from core.errors import DocumentLoadError
    from rag.bounded import read_document

    t0 = time.perf_counter()
    try:
        read_document(path, limits=limits)
        return time.perf_counter() - t0, "read (not refused)"
    except DocumentLoadError as e:
        return time.perf_counter() - t0, str(e)


def run(quick: bool) -> list[Figure]:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import make_pdf
    from rag.bounded import read_document
    from rag.document import Limits
    from rag.load import load_document
    from test_loader_fuzz import SUFFIXES, seeds
    from test_loader_limits import flate_bomb, many_pages

    n = 5 if quick else 20
    limits = Limits(max_seconds=300, max_memory_mb=2048)
    figures = []
    with tempfile.TemporaryDirectory(prefix="hearth-bench-reader-") as tmp:
        tmp = Path(tmp)
        read_document(PDF, limits=limits)  # the reader process starts once
        inproc, bounded = [], []
        for _ in range(n):  # taking turns, so that the machine's swings hit both alike
            inproc.append(_timed(lambda: load_document(PDF)))
            bounded.append(_timed(lambda: read_document(PDF, limits=limits)))
        figures.append(Figure("reader", "reading a 28-page 10-Q within the ceilings, p50", percentile(bounded, 50) * 1000,
                              "ms", "the same readers in this process", percentile(inproc, 50) * 1000,
                              higher_is_better=False, note=f"{n} reads each; the difference is the pages' trip "
                              "between processes"))
        seed = make_pdf(tmp / "seed.pdf", ["Page text of a long report, with many words on it. " * 60])
        long = many_pages(tmp / "long.pdf", seed, 2000)
        t_in, t_b = _pair(lambda: load_document(long), lambda: read_document(long, limits=limits))
        figures.append(Figure("reader", "a 2,000-page PDF read within the ceilings", t_b, "s",
                              "the same readers in this process", t_in, higher_is_better=False))
        secs, msg = _refusal(long, Limits(max_seconds=0.5, max_memory_mb=2048))
        figures.append(Figure("reader", "the 2,000-page PDF under a 0.5 s ceiling: refused after", secs, "s",
                              target="refused, about 0.5 s", met="max_read_seconds" in msg, note=msg[:120]))
        bomb = flate_bomb(tmp / "bomb.pdf", 400)
        secs, msg = _refusal(bomb, Limits(max_seconds=300, max_memory_mb=512))
        figures.append(Figure("reader", f"flate bomb ({bomb.stat().st_size / 2**20:.1f} MB inflating to 400 MB of text) "
                              "under a 512 MB ceiling: refused after", secs, "s", target="refused",
                              met="max_read_mb" in msg, note=msg[:120]))
        deep = tmp / "deep.html"
        deep.write_text("<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000 + "</body></html>")
        t_in, t_b = _pair(lambda: load_document(deep), lambda: read_document(deep, limits=limits))
        figures.append(Figure("reader", "HTML nested 100,000 deep, read within the ceilings", t_b, "s",
                              "the same readers in this process", t_in, higher_is_better=False,
                              note="one pass since issue 20 (bs4's insert_before/after made it quadratic)"))
        secs, msg = _refusal(deep, Limits(max_seconds=0.5, max_memory_mb=2048))
        figures.append(Figure("reader", "the same HTML under a 0.5 s ceiling: refused after", secs, "s",
                              target="refused, about 0.5 s", met="max_read_seconds" in msg, note=msg[:120]))
        if importlib.util.find_spec("atheris") is not None:
            figures.append(_atheris(tmp, seeds, SUFFIXES, make_pdf, 60 if quick else 600))
    return figures


def _atheris(tmp: Path, seeds, suffixes, make_pdf, seconds: int) -> Figure:
    corpus = tmp / "corpus"
    corpus.mkdir()
    for suffix, blob in seeds(tmp / "seeds").items():
        if suffix != ".pdf":
            (corpus / suffix.lstrip(".")).write_bytes(bytes([suffixes.index(suffix)]) + blob[:20000])
    (corpus / "pdf").write_bytes(bytes([0]) + make_pdf(tmp / "small.pdf", ["Net sales 82,959.", "Risk."]).read_bytes())
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz_loaders.py"), str(corpus), "-runs=100000000",
                          f"-max_total_time={seconds}", "-timeout=20", "-rss_limit_mb=3072", "-max_len=30000"],
                         capture_output=True, text=True, cwd=tmp, timeout=seconds + 300)
    wall = time.perf_counter() - t0
    done = next((line for line in run.stderr.splitlines() if line.startswith("Done ")), "")
    runs = int(done.split()[1]) if done else 0
    shutil.rmtree(corpus, ignore_errors=True)
    return Figure("fuzz", f"atheris over the readers for {seconds} s: inputs tried", runs, "inputs",
                  target="no crash, hang or unexplained error", met=run.returncode == 0,
                  note=f"{runs / wall:.0f} inputs/s; exit {run.returncode}; "
                  f"{len(list(corpus.parent.glob('crash-*')))} crash files")
