"""Embedding backends on Hearth's own sec10q chunks: speed against torch in the same run, and retrieval quality.

Backends: onnx (rag.embed_onnx, Hearth's default: ONNX Runtime running the model's encoder as an fp32 graph written
by rag.bert_onnx), torch (sentence-transformers, the reference), onnx int8 (the same graph dynamically quantised by
onnxruntime, per-channel weights; measured, not offered) and numpy (rag.embed_numpy, the fallback without
onnxruntime; speed on a subset, its vectors are torch's).

Quality, per backend: cosine of each chunk vector to torch's; dense retrieval over the chunks of the filings
(exact cosine, top 10) for every single-document question of sec10q/questions.jsonl: right filing in the top 5
and MRR for questions about these filings, and how many of torch's top-10 chunks the backend also returns
(all questions). Speed: chunks/s wall-clock and chunks per CPU-second (the machine is shared; CPU time is the
steadier measure); one question at a time on one thread, as a search embeds it (p50/p95); and a fresh process
from its first import to its first vector (torch: import and load sentence-transformers; onnx: open the cached
graph, and write it first).

    python -m benchmarks.run embedders [--quick]   # quick: the 2 filings of the ingest benchmark; full: 4 more
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_ingest import PDFS, files
from benchmarks.bench_retrieval import questions
from benchmarks.common import ROOT, Figure, percentile

NUMPY_SUBSET = 16
K = 5


def _chunks(paths: list[Path]) -> tuple[list[str], list[str]]:
    from app.services.models import embedded_embedding_model
    from rag import TokenCounter, load_document, split_pages
    from rag.library import HEADER_TOKENS, doc_label, embedding_text

    tokens = TokenCounter(embedded_embedding_model())
    texts, owners = [], []
    for path in paths:
        doc = load_document(path)
        label = doc_label(path.name, doc.title)
        for c in split_pages(doc.pages, chunk_size=tokens.max_tokens - HEADER_TOKENS, chunk_overlap=32, length=tokens):
            texts.append(embedding_text(label, c))
            owners.append(path.name)
    return texts, owners


def _timed_embed(embedder, texts: list[str]):
    import numpy as np

    embedder.embed(["warm up"])
    w, c = time.perf_counter(), time.process_time()
    vecs = np.array([v for i in range(0, len(texts), 64) for v in embedder.embed(texts[i:i + 64])], dtype=np.float32)
    return vecs, time.perf_counter() - w, time.process_time() - c


def _int8(model: Path, cache: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rag.embed_onnx import onnx_cache_file

    out = cache / "int8.onnx"
    quantize_dynamic(str(onnx_cache_file(model, cache)), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True)
    return out


def _retrieval(vecs, owners: list[str], qvecs, qs: list[dict], ref_top=None) -> dict:
    import numpy as np

    top = np.argsort(-(qvecs @ vecs.T), axis=1)[:, :10]
    hit = rr = n = 0
    for q, row in zip(qs, top):
        if q["doc"] not in owners:
            continue
        found = [owners[i] for i in row]
        n += 1
        hit += q["doc"] in found[:K]
        rr += 1 / (found.index(q["doc"]) + 1) if q["doc"] in found else 0
    overlap = None if ref_top is None else float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top, ref_top)]))
    return {"hit": hit / max(n, 1), "mrr": rr / max(n, 1), "n": n, "top": top, "overlap": overlap}


def run(quick: bool) -> list[Figure]:
    from app.services.models import embedded_embedding_model
    from rag import Embedder
    from rag.embed_numpy import NumpyEmbedder
    from rag.embed_onnx import OnnxEmbedder

    model, threads = embedded_embedding_model(), os.cpu_count() or 1
    more = [] if quick else [PDFS / f"2023 Q3 {t}.pdf" for t in ("AAPL", "NVDA", "MSFT", "INTC")]
    paths = files(True) + more
    texts, owners = _chunks(paths)
    qs = questions()
    cache = Path(tempfile.mkdtemp(prefix="bench-embedders-"))
    backends = {"torch": Embedder(model, threads=threads),
                "onnx": OnnxEmbedder(model, cache_dir=cache, threads=threads)}
    backends["onnx"].load()
    int8 = OnnxEmbedder(model, cache_dir=cache, threads=threads)
    int8._session, int8._tokenizer = int8._open(_int8(model, cache)), backends["onnx"]._tokenizer
    backends["onnx int8"] = int8
    runs = {}
    for name, embedder in backends.items():
        vecs, wall, cpu = _timed_embed(embedder, texts)
        qvecs = embedder.embed([q["question"] for q in qs])
        import numpy as np

        runs[name] = {"vecs": vecs, "wall": wall, "cpu": cpu, "qvecs": np.array(qvecs, dtype=np.float32)}
    ref = runs["torch"]
    ref_ret = _retrieval(ref["vecs"], owners, ref["qvecs"], qs)
    sub = texts[:NUMPY_SUBSET]
    _, np_wall, np_cpu = _timed_embed(NumpyEmbedder(model, threads=threads), sub)
    _, t_wall, t_cpu = _timed_embed(backends["torch"], sub)

    what = f"{len(texts)} chunks of {len(paths)} sec10q filings, {threads} threads, load {os.getloadavg()[0]:.1f}"
    figures = []
    for name in ("onnx", "onnx int8"):
        r = runs[name]
        cos = (r["vecs"] * ref["vecs"]).sum(1)
        ret = _retrieval(r["vecs"], owners, r["qvecs"], qs, ref_ret["top"])
        figures.append(Figure(
            "embedders", f"{name} embedding, chunks/s ({what})", len(texts) / r["wall"], "chunks/s",
            "torch (sentence-transformers), same chunks, same run", len(texts) / ref["wall"],
            note=(f"per CPU-second {len(texts) / r['cpu']:.2f} vs torch {len(texts) / ref['cpu']:.2f}; cosine to torch "
                  f"min {cos.min():.4f} mean {cos.mean():.4f}; right filing in top {K} {ret['hit']:.0%} vs torch "
                  f"{ref_ret['hit']:.0%}, MRR {ret['mrr']:.3f} vs {ref_ret['mrr']:.3f} ({ret['n']} questions); "
                  f"top-10 chunks shared with torch {ret['overlap']:.0%} ({len(qs)} questions)"),
            extra={"cos_min": float(cos.min()), "cos_mean": float(cos.mean()), "hit5": ret["hit"], "mrr": ret["mrr"],
                   "torch_hit5": ref_ret["hit"], "torch_mrr": ref_ret["mrr"], "questions": ret["n"],
                   "top10_overlap": ret["overlap"], "cpu_chunks_per_s": len(texts) / r["cpu"],
                   "torch_cpu_chunks_per_s": len(texts) / ref["cpu"]}))
    figures.append(Figure(
        "embedders", f"numpy embedding, chunks/s ({NUMPY_SUBSET} of the same chunks)", NUMPY_SUBSET / np_wall,
        "chunks/s", "torch, same chunks, same run", NUMPY_SUBSET / t_wall,
        note=f"per CPU-second {NUMPY_SUBSET / np_cpu:.2f} vs torch {NUMPY_SUBSET / t_cpu:.2f}; vectors match torch "
             "(tests/test_embed_numpy.py)"))
    figures += _question_latency(model, cache, [q["question"] for q in qs])
    figures += _cold_start(cache)
    return figures


def _question_latency(model: Path, cache: Path, qs: list[str]) -> list[Figure]:
    """One question at a time on one thread, as HybridSearch embeds it; torch and onnx alternate per question."""
    from rag import Embedder
    from rag.embed_onnx import OnnxEmbedder

    backends = {"torch": Embedder(model, threads=1), "onnx": OnnxEmbedder(model, cache_dir=cache, threads=1)}
    times: dict[str, list[float]] = {name: [] for name in backends}
    for e in backends.values():
        e.embed(qs[:5])
    for q in qs:
        for name, e in backends.items():
            t0 = time.perf_counter()
            e.embed([q])
            times[name].append(time.perf_counter() - t0)
    ms = {name: (percentile(t, 50) * 1000, percentile(t, 95) * 1000) for name, t in times.items()}
    what = f"{len(qs)} sec10q questions, one at a time, 1 thread, load {os.getloadavg()[0]:.1f}"
    return [Figure("embedders", f"onnx: embed one question, p{p} ({what})", ms["onnx"][i], "ms",
                   "torch (sentence-transformers), same questions, alternating", ms["torch"][i], higher_is_better=False)
            for i, p in enumerate((50, 95))]


COLD = {  # a fresh process: from the first import to the first vector
    "torch": "from rag import Embedder; e = Embedder(MODEL, threads=2)",
    "onnx": "from rag.embed_onnx import OnnxEmbedder; e = OnnxEmbedder(MODEL, cache_dir=CACHE, threads=2)",
}


def _cold(kind: str, cache: Path) -> float:
    code = ("import time; t0 = time.perf_counter()\nfrom pathlib import Path\n"
            "from app.services.models import embedded_embedding_model\nMODEL = embedded_embedding_model()\n"
            f"CACHE = Path({str(cache)!r})\n{COLD[kind]}\ne.embed(['first question'])\n"
            "print(time.perf_counter() - t0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    return float(out.stdout.strip().splitlines()[-1])


def _cold_start(cache: Path) -> list[Figure]:
    fresh = Path(tempfile.mkdtemp(prefix="bench-embedders-fresh-"))
    first = _cold("onnx", fresh)  # writes the graph
    runs = {kind: sorted(_cold(kind, cache) for _ in range(3)) for kind in COLD}
    torch_s = runs["torch"][1]
    what = f"median of 3 fresh processes, load {os.getloadavg()[0]:.1f}"
    return [
        Figure("embedders", f"onnx: first vector in a fresh process, graph cached ({what})", runs["onnx"][1], "s",
               "torch: import and load sentence-transformers", torch_s, higher_is_better=False),
        Figure("embedders", "onnx: first vector in a fresh process, graph written first (once per model)", first, "s",
               "torch: import and load sentence-transformers", torch_s, higher_is_better=False,
               note="rag.bert_onnx writes the graph from the safetensors; no torch"),
    ]
