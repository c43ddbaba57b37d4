"""Crash safety as a trial: a multi-file ingest through Hearth is killed with SIGKILL at a random moment, then
Hearth opens the same data dir again. Counted after each restart: documents the catalog holds that are not
whole in all three stores (the catalog, the Chroma vectors and the BM25 rows: rag Library.verify), and
documents the restart had to remove because their ingest was cut (these are expected: they were being written).
After each check two documents are removed at random, so that every round's ingest has work to be cut in.
Then the same files are ingested to the end and checked again.

The raw baseline is the same ingest, not killed: its time says how long a run lasts, so the kills spread over it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, Figure

INGEST = """
import sys
from pathlib import Path
from app.hearth import Hearth
from app.settings import load_settings

data, files = Path(sys.argv[1]), sys.argv[2:]
hearth = Hearth(load_settings({"data_dir": data, "n_threads": 1}, environ={}))
hearth.embedder.embed(["warm up"])
print("START", flush=True)
for r in hearth.ingest(files):
    print("DONE", r.status, r.file, flush=True)
hearth.close()
"""


def make_files(folder: Path, n: int = 5) -> list[Path]:
    """n PDFs of a few pages each, every one with its own facts (fpdf2, as the tests make them)."""
    from fpdf import FPDF

    out = []
    for i in range(n):
        pdf = FPDF()
        pdf.set_font("helvetica", size=11)
        for page in range(3 + i % 3):
            pdf.add_page()
            pdf.multi_cell(0, 6, f"Report {i}, page {page + 1}. " + " ".join(
                f"Unit {i}-{page}-{k} sold {k * 7 + i} items in region {k % 5}." for k in range(40)))
        path = folder / f"report-{i}.pdf"
        pdf.output(str(path))
        out.append(path)
    return out


def ingest(data: Path, files: list[Path], *, kill_after: float | None = None) -> tuple[float, list[str]]:
    """Run the ingest in a fresh process; with kill_after, SIGKILL it that many seconds after it starts
    writing. Returns (seconds it ran for, its DONE lines)."""
    proc = subprocess.Popen([sys.executable, "-c", INGEST, str(data), *map(str, files)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().startswith("START"), "the ingest process did not start"
        t0 = time.perf_counter()
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)  # no cleanup runs: as a power cut or the OOM killer
        done = [line.strip() for line in proc.stdout if line.startswith("DONE")]
        proc.wait(timeout=600)
        return time.perf_counter() - t0, done
    finally:
        proc.kill()


def check(data: Path, forget: int = 0, rng: random.Random | None = None) -> tuple[int, int, int]:
    """Open the data dir as Hearth does after a crash: (whole documents, documents not whole in all three stores,
    interrupted documents removed on opening). forget: then remove that many documents at random, so that the
    next ingest has work to be cut in."""
    from app.hearth import Hearth
    from app.settings import load_settings

    hearth = Hearth(load_settings({"data_dir": data}, environ={}))
    try:
        library = hearth.documents.library()
        problems = library.verify()
        interrupted = sum("was interrupted" in p for p in problems)
        docs = library.documents()
        for d in (rng or random).sample(docs, min(forget, len(docs))):
            library.forget(d.doc_id)
        return len(docs), len(problems) - interrupted, interrupted
    finally:
        hearth.close()


def trial(kills: int, seed: int = 7) -> dict:
    """kills random SIGKILLs, each followed by a restart and a check; then a full ingest and a last check."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="hearth-crash-") as tmp:
        files = make_files(Path(tmp))
        full, _ = ingest(Path(tmp) / "timing", files)  # how long an uncut run lasts
        data = Path(tmp) / "data"
        not_whole = interrupted = 0
        for _ in range(kills):
            ingest(data, files, kill_after=rng.uniform(0.0, full))
            _, bad, cut = check(data, forget=2, rng=rng)
            not_whole, interrupted = not_whole + bad, interrupted + cut
        ingest(data, files)
        docs, bad, _ = check(data)
    return {"kills": kills, "not_whole": not_whole, "interrupted": interrupted, "final_docs": docs,
            "final_not_whole": bad, "files": len(files), "full_s": full}


def run(quick: bool) -> list[Figure]:
    r = trial(5 if quick else 20)
    note = (f"{r['files']} PDFs per ingest, killed at a random moment of a {r['full_s']:.1f} s run, then reopened; "
            "2 documents removed before each next round")
    return [
        Figure("crash", f"documents not whole in catalog, vectors and BM25 after {r['kills']} SIGKILLs and restarts",
               r["not_whole"], "documents", target="0", met=r["not_whole"] == 0, higher_is_better=False, note=note),
        Figure("crash", "documents whose cut ingest the restart removed (to be added again)", r["interrupted"],
               "documents", higher_is_better=False, note="expected: the ones being written when the kill came"),
        Figure("crash", "documents whole after the ingest is run to the end", r["final_docs"], "documents",
               baseline="files ingested", baseline_value=r["files"], target="all", met=r["final_docs"] == r["files"]
               and r["final_not_whole"] == 0),
    ]
