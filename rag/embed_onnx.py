"""Sentence embeddings through ONNX Runtime: the model's BERT encoder written as an ONNX graph from its own
safetensors (rag.bert_onnx, no torch), cached, then run.

Same interface and, to float precision, the same vectors as Embedder for BERT-family sentence-transformers
folders with mean pooling (all-MiniLM-L6-v2 and kin). Against sentence-transformers on a CPU it embeds as many
chunks per CPU-second, a short question in about half the time, and opens in a fraction of a second instead of
the seconds torch takes to import (benchmarks/bench_embedders.py). torch stays out of the process, which a
CUDA build of llama.cpp needs (shared/gpu/README.md). The graph is written once (about a second), cached under
the models folder, keyed by the model's files; a missing or unreadable cache file is written again.

precision="int8" runs the same graph with its weights quantised to int8 by ONNX Runtime (dynamic, per channel:
written once from the fp32 graph, about 2 s, and cached beside it): 1.6x the chunks per CPU-second on a CPU with
VNNI, vectors at cosine 0.98-0.99 to fp32's, and retrieval figures as good on financebench_dev and sec10q
(benchmarks/RESULTS.md, pages), so Hearth's setting embedding_precision defaults to it. Where ONNX Runtime's
quantiser cannot run, the fp32 graph is used and the log says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from core.errors import ModelNotFoundError
from rag.bert_onnx import BERT_FILES, bert_onnx, check_bert_folder
from rag.embed_parts import BaseEmbedder, bert_tokenizer, mean_pooled

__all__ = ["OnnxEmbedder", "onnx_cache_file", "export_onnx", "quantize_int8", "reads"]

log = logging.getLogger(__name__)

GRAPH_VERSION = 2  # 1: exported by torch; 2: written by rag.bert_onnx


def onnx_cache_file(model_path: Path, cache_dir: Path) -> Path:
    """Where the graph of this model folder is kept: its name and a fingerprint of its config and weights."""
    h = hashlib.sha256(f"v{GRAPH_VERSION}:".encode())
    for name in ("config.json", "model.safetensors", "sentence_bert_config.json"):
        f = model_path / name
        if f.is_file():
            h.update(f"{name}:{f.stat().st_size}:{f.stat().st_mtime_ns}:".encode())
            h.update(f.read_bytes() if f.stat().st_size < 1 << 20 else b"")
    return cache_dir / f"{model_path.name}-{h.hexdigest()[:12]}.onnx"


def reads(model_path: Path) -> bool:
    """Whether this embedder can run the model folder: onnx and onnxruntime installed, a mean-pooled BERT."""
    import importlib.util

    if not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "safetensors", "tokenizers")):
        return False
    try:
        check_bert_folder(Path(model_path))
    except (ModelNotFoundError, OSError, ValueError):
        return False
    return True


def export_onnx(model_path: Path, out: Path) -> None:
    """Write the model's encoder (token vectors out) as ONNX; atomically, so a half-written file never stays."""
    data = bert_onnx(model_path).SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote onnx graph of embedder model=%s file=%s", model_path, out)


def _not_advice(record: logging.LogRecord) -> bool:
    return "pre-processing before quantization" not in record.getMessage()


def quantize_int8(fp32: Path, out: Path) -> None:
    """The fp32 graph with its weights quantised to int8 (ONNX Runtime's dynamic quantisation, per channel, reduced
    range: what runs fast on CPUs without VNNI too); atomically, like export_onnx."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f"{out.stem}.{os.getpid()}.{threading.get_ident()}.tmp.onnx")
    root = logging.getLogger()
    root.addFilter(_not_advice)  # the quantiser advises pre-processing on the root logger, every time
    try:
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
        os.replace(tmp, out)
    finally:
        root.removeFilter(_not_advice)
        tmp.unlink(missing_ok=True)
    log.info("wrote int8 onnx graph file=%s", out)


class OnnxEmbedder(BaseEmbedder):
    """embed(texts) -> unit vectors, through onnxruntime and `tokenizers` (no torch, no transformers)."""

    needs = BERT_FILES
    kind = "onnx embedder"

    def __init__(self, model_path: Path, *, cache_dir: Path, threads: int, batch_size: int = 32,
                 lock: threading.Lock | None = None, precision: str = "fp32"):
        super().__init__(model_path, threads=threads, batch_size=batch_size, lock=lock)
        if precision not in ("fp32", "int8"):
            raise ValueError(f"precision must be fp32 or int8, not {precision!r}")
        self.cache_dir = Path(cache_dir)
        self.precision = precision
        self._tokenizer = None

    @property
    def cache_file(self) -> Path:
        """The fp32 graph (what the int8 one is quantised from)."""
        return onnx_cache_file(self.model_path, self.cache_dir)

    @property
    def graph_file(self) -> Path:
        """The graph this embedder runs."""
        fp32 = self.cache_file
        return fp32 if self.precision == "fp32" else fp32.with_name(f"{fp32.stem}-int8.onnx")

    def _open(self):
        check_bert_folder(self.model_path)
        file = self.graph_file
        try:
            session = self._session(file)
        except Exception as e:  # missing, or unreadable (cut off, corrupt): write it again
            log.info("onnx cache %s unusable (%s); writing it", file, type(e).__name__)
            session = self._written()
        self._tokenizer = bert_tokenizer(self.model_path)
        return session

    def _written(self):
        """Write the graph (the fp32 one first, when it is not there or unreadable) and open it."""
        fp32 = self.cache_file
        try:
            self._session(fp32)
        except Exception:  # noqa: BLE001 - missing or unreadable: written again
            export_onnx(self.model_path, fp32)
        if self.precision == "fp32":
            return self._session(fp32)
        try:
            quantize_int8(fp32, self.graph_file)
            return self._session(self.graph_file)
        except Exception:  # noqa: BLE001 - e.g. a bundle without onnxruntime.quantization: fp32 still embeds
            log.warning("could not write the int8 graph of the embedder; using fp32 (set embedding_precision=fp32 to "
                        "say so)", exc_info=True)
            return self._session(fp32)

    def _encode(self, session, texts: list[str]):
        import numpy as np

        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        tokens = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return mean_pooled(tokens, mask)

    def _session(self, file: Path):
        import onnxruntime as ort

        if not file.is_file():
            raise FileNotFoundError(file)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # share the cores politely
        return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
