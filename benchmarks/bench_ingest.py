"""Ingest throughput and peak memory on the sec10q filings: Hearth's pipeline against naive and raw baselines.

Each pipeline runs in its own child process (so that peak memory is its own), on the same files, with the
same embedding model and thread count, model loading excluded from the time:

- hearth: rag.Library.ingest (pypdfium2 reading order, token-sized chunks, pipelined embed and batched writes,
  BM25 rows, catalog), with Hearth's default embedder (ONNX Runtime over the same MiniLM, the same vectors).
- naive (the issue's baseline): pypdf + RecursiveCharacterTextSplitter(1000, 200) + SentenceTransformer.encode
  + collection.add.
- raw: the fastest plain parts: pypdfium2 page text + the same splitter + encode + collection.add.
- embed only: Hearth's own chunks through Hearth's embedder, nothing else (the floor for end-to-end time).

    python -m benchmarks.run ingest [--quick]      # quick: 2 filings; full: all 20 (1,037 pages)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, SHARED_DATA, Figure, hearth_embedder, raw_embedder

PDFS = SHARED_DATA / "sec10q" / "pdfs"
QUICK_FILES = 2


def files(quick: bool) -> list[Path]:
    found = sorted(PDFS.glob("*.pdf"))
    if not found:
        raise FileNotFoundError(f"no PDFs in {PDFS}; set HEARTH_SHARED_DATA to the folder holding sec10q/")
    return found[:QUICK_FILES] if quick else found


def _model() -> Path:
    from app.services.models import embedded_embedding_model

    return embedded_embedding_model()


def _threads() -> int:
    return os.cpu_count() or 1


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process so far: steadier than wall time on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _baseline(paths: list[Path], reader: str) -> dict:
    import chromadb
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if reader == "pypdf":
        import pypdf

        # pypdf 7 refuses arrays of over 100,000 elements, which one of these filings holds: the baseline
        # must read every file, so its limits are raised (as pypdf 6 read them)
        pypdf.overwrite_configuration(array_maximum_element_count=1 << 30, dictionary_maximum_element_count=1 << 30)
    model = raw_embedder(_threads())
    client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="bench-ingest-"),
                                       settings=chromadb.Settings(anonymized_telemetry=False))
    col = client.get_or_create_collection("naive", embedding_function=None)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    t0, c0 = time.perf_counter(), _cpu_s()
    pages = chunks = 0
    for path in paths:
        if reader == "pypdf":
            from pypdf import PdfReader

            texts = [p.extract_text() or "" for p in PdfReader(path).pages]
        else:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(path)
            texts = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
            doc.close()
        pages += len(texts)
        parts = splitter.split_text("\n".join(texts))
        vectors = model.encode(parts, batch_size=32, show_progress_bar=False).tolist()
        step = client.get_max_batch_size()
        for i in range(0, len(parts), step):
            col.add(ids=[f"{path.name}:{j}" for j in range(i, min(i + step, len(parts)))],
                    embeddings=vectors[i:i + step], documents=parts[i:i + step])
        chunks += len(parts)
    return {"seconds": time.perf_counter() - t0, "pages": pages, "chunks": chunks, "peak_mb": _peak_mb(),
            "cpu_seconds": _cpu_s() - c0}


def _hearth(paths: list[Path]) -> dict:
    from rag import Catalog, Library, Store, TokenCounter, load_document, open_chroma, split_pages
    from rag.library import embedding_texts

    data = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    embedder = hearth_embedder(_threads())
    embedder.embed(["warm up"])
    tokens = TokenCounter(_model())
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "bench"),
                  embedder=embedder, collection="bench", chunk_size=256, chunk_overlap=32, tokens=tokens,
                  max_tokens=tokens.max_tokens)
    t0, c0 = time.perf_counter(), _cpu_s()
    results = list(lib.ingest(paths))
    seconds, cpu_seconds = time.perf_counter() - t0, _cpu_s() - c0
    failed = [r.error for r in results if r.status != "indexed"]
    if failed:
        raise RuntimeError(f"hearth failed on: {failed}")
    peak = _peak_mb()
    # The same chunks through the embedder alone: what end-to-end time is compared with.
    texts = []
    for path in paths:  # read and split as the library does (its catalog now says "unchanged")
        doc = load_document(path, limits=lib.limits)
        chunks = split_pages(doc.pages, chunk_size=lib.chunk_size, chunk_overlap=lib.chunk_overlap, length=tokens)
        texts += embedding_texts(path.name, doc, chunks)[1]  # with the identity header, as the library embeds them
    t1 = time.perf_counter()
    for i in range(0, len(texts), 64):
        embedder.embed(texts[i:i + 64])
    embed_seconds = time.perf_counter() - t1
    return {"seconds": seconds, "pages": sum(r.pages for r in results), "chunks": sum(r.chunks for r in results),
            "peak_mb": peak, "embed_seconds": embed_seconds, "cpu_seconds": cpu_seconds}


def _child(kind: str, paths: list[Path]) -> dict:
    if kind == "hearth":
        return _hearth(paths)
    return _baseline(paths, "pypdf" if kind == "naive" else "pypdfium2")


def _run_child(kind: str, quick: bool) -> dict:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_ingest", kind, "quick" if quick else "full"],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[Figure]:
    paths = files(quick)
    hearth, naive, raw = (_run_child(k, quick) for k in ("hearth", "naive", "raw"))
    what = f"{len(paths)} sec10q filings, {hearth['pages']} pages"
    rate = lambda r: r["pages"] / r["seconds"]  # noqa: E731
    naive_rate, raw_rate, hearth_rate = rate(naive), rate(raw), rate(hearth)
    overhead = hearth["seconds"] / hearth["embed_seconds"] - 1
    note = (f"{hearth['chunks']} chunks of <=222 tokens (hearth) vs {naive['chunks']} of <=1000 characters "
            f"(baselines); {_threads()} threads; load average {os.getloadavg()[0]:.1f} (shared machine); "
            f"CPU-seconds ratio {naive['cpu_seconds'] / hearth['cpu_seconds']:.2f}x naive, "
            f"{raw['cpu_seconds'] / hearth['cpu_seconds']:.2f}x raw")
    return [
        Figure("ingest", f"Hearth ingest, pages/s ({what})", hearth_rate, "pages/s",
               "naive: pypdf + RecursiveCharacterTextSplitter(1000, 200) + encode + collection.add", naive_rate,
               target=">= 3x naive baseline", met=hearth_rate >= 3 * naive_rate, note=note),
        Figure("ingest", f"Hearth ingest, pages/s ({what})", hearth_rate, "pages/s",
               "raw: pypdfium2 + same splitter + encode + collection.add", raw_rate,
               note="the fastest plain parts, no metadata, no BM25, no atomicity"),
        Figure("ingest", "End-to-end ingest time vs embedding the same chunks only", hearth["seconds"], "s",
               "embedding only", hearth["embed_seconds"], higher_is_better=False,
               target="within 15% of embedding-only time", met=overhead <= 0.15,
               note=f"overhead {overhead:+.0%}"),
        Figure("ingest", f"Peak memory (RSS) ingesting {what}", hearth["peak_mb"], "MB",
               "naive baseline process", naive["peak_mb"], higher_is_better=False,
               note="whole process, embedding model included"),
    ]


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], files(sys.argv[2] == "quick"))))
