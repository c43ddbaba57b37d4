"""A collection of documents: ingest, forget, list and search, kept whole per document.

Ingest is a pipeline: a thread reads and splits the next file while this one is embedded, and a writer
thread stores embedded batches in Chroma while the next batch is embedded. A document is 'pending' in
the catalog until its last chunk is in Chroma; its lexical rows and 'ready' are then committed in one
SQLite transaction. Search sees only ready documents, in Chroma and in BM25 alike.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from core.digest import sha256_file, sha256_text
from core.errors import DocumentLoadError
from core.names import display_name
from rag.catalog import Catalog, DocRecord
from rag.document import SUPPORTED_SUFFIXES, Limits, LoadedDocument, Ocr
from rag.embed_parts import BaseEmbedder
from rag.focus import DocAbout, focus
from rag.identity import Identity, read_identity
from rag.bounded import read_document
from rag.ocr import chunk_boxes
from rag.search import HybridSearch
from rag.split import Chunk, split_pages
from rag.statements import asked_kinds, with_structure
from rag.store import Hit, Store
from rag.writelock import WriterLock
from rag.writer import ChunkWriter

__all__ = ["Library", "IngestResult", "expand_paths", "Progress", "doc_label", "embedding_text", "embedding_texts"]

log = logging.getLogger(__name__)

EMBED_BATCH = 64
COVER_CHUNKS = 8  # enough chunks to hold a cover page (rag.identity.COVER_CHARS)
HEADER_TOKENS = 48  # room kept in each chunk for its document label (name and identity) and section heading

# progress(file, done_chunks, total_chunks): called while a document is embedded.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestResult:
    file: str
    status: str  # indexed | unchanged | failed
    doc_id: str | None = None
    pages: int = 0
    chunks: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()  # e.g. pages read by OCR, pages left unread
    ocr_pages: int = 0
    encoding: str = ""  # what a text file was read as (rag.formats.decode_text)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


@dataclass(frozen=True)
class _Prepared:
    path: Path
    sha: str
    doc: LoadedDocument
    chunks: list[Chunk]


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, and the supported files inside folders (recursively, sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            out.append(p)
    return out


def doc_label(file: str, title: str = "", identity: str = "") -> str:
    """What a chunk says about its document: the file name, and who and when it is about (rag.identity) or
    else the title when it is words."""
    label = " ".join(Path(file).stem.replace("_", " ").split())
    if identity:
        return f"{label} ({identity})"
    if title and sum(w.isalpha() for w in title.split()) >= 2 and title.lower() not in label.lower():
        label = f"{label} ({title})"
    return label


def embedding_text(label: str, chunk: Chunk) -> str:
    """A chunk as the embedder and BM25 read it: document and section first, so that each passage says
    where it comes from (a table row of '2023 Q1 AAPL' reads differently from one of '2022 Q3 INTC')."""
    head = f"{label} | {chunk.section}" if chunk.section else label
    return f"{head}\n{chunk.text}"


def embedding_texts(file: str, doc: LoadedDocument, chunks: Sequence[Chunk]) -> tuple[Identity, list[str]]:
    """The document's identity (rag.identity, from its first two pages) and each chunk as it is embedded."""
    identity = read_identity("\n".join(p.text for p in doc.pages[:2]))
    label = doc_label(file, doc.title, identity.label())
    return identity, [embedding_text(label, c) for c in chunks]


class Library:
    def __init__(self, *, catalog: Catalog, store: Store, embedder: BaseEmbedder, collection: str,
                 chunk_size: int = 1000, chunk_overlap: int = 150, max_bytes: int | None = None,
                 tokens: Callable[[str], int] | None = None, max_tokens: int | None = None,
                 limits: Limits | None = None, ocr: Ocr | None = None, rerank=None, rewrite=None, page_rerank=None,
                 mmr_lambda: float = 0.7, candidates: int = 30, retrieval: str = "hybrid", focus: bool = True):
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.collection = collection
        if tokens is not None and max_tokens:
            chunk_size = min(chunk_size, max_tokens - HEADER_TOKENS)
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.tokens = tokens
        self.limits = limits or Limits(max_bytes=max_bytes)
        self.ocr = ocr
        self.retrieval = retrieval  # hybrid | dense | lexical: the default of every search
        self.focus = focus  # steer a question that names a company or period to those documents (rag.focus)
        self._abouts: tuple[tuple, list[DocAbout]] = ((), [])
        # held by whoever writes this collection, in this process or another (rag.writelock)
        self._write_lock = WriterLock(catalog.path.parent / "locks" / f"{sha256_text(collection)[:16]}.lock"
                                      if getattr(catalog, "path", None) else None)
        self.searcher = HybridSearch(catalog=catalog, store=store, embedder=embedder, collection=collection,
                                     rerank=rerank, rewrite=rewrite, page_rerank=page_rerank, mmr_lambda=mmr_lambda,
                                     candidates=candidates)
        self.repaired = self.repair()  # documents an earlier process left half-written, removed on opening

    @property
    def max_bytes(self) -> int | None:
        return self.limits.max_bytes

    # -- reading ---------------------------------------------------------------------------

    def documents(self) -> list[DocRecord]:
        return self.catalog.documents(self.collection)

    def search(self, query: str, k: int = 5, doc_ids: Sequence[str] | None = None, **options) -> list[Hit]:
        """Hybrid search (dense + BM25, fused; reranked and diversified when configured) over ready documents.

        options: rerank (bool), mmr_lambda (float, 1 = no diversity), rewrite (bool), dense/lexical (bool),
        focus (bool: steer to the documents the question names by company or period), route (bool: rank the
        pages of the statements the question needs once more, rag.statements), pages (bool: one passage per page,
        pages ranked), spread_focus (bool: each document the question names has its best page shown).
        """
        options.setdefault("dense", self.retrieval != "lexical")
        options.setdefault("lexical", self.retrieval != "dense")
        options["focus"] = self.focus_of(query) if options.pop("focus", self.focus) else None
        options["route"] = asked_kinds(query) if options.pop("route", True) else ()
        return self.searcher.search(query, k, doc_ids, **options)

    def focus_of(self, question: str) -> list[str] | None:
        """Ids of the documents the question names by company or period (rag.focus), or None."""
        return focus(question, self.abouts())

    def present_words(self, words: Iterable[str]) -> set[str]:
        """Which of the words (lower-cased) some passage of the collection holds."""
        return self.catalog.lexical(self.collection).present(words)

    def abouts(self) -> list[DocAbout]:
        """Each ready document's file name and identity; identities an older index lacks are read once from
        its first chunks."""
        version = self.catalog.version()
        if self._abouts[0] != version:
            out = []
            for d in self.documents():
                identity = d.identity or self._backfill_identity(d)
                out.append(DocAbout(d.doc_id, d.file, Identity.from_json(identity)))
            self._abouts = (version, out)
        return self._abouts[1]

    def _backfill_identity(self, d: DocRecord) -> str:
        found = self.store.get([f"{d.doc_id}:{i}" for i in range(COVER_CHUNKS)])
        first = sorted((meta.get("chunk", 0), text) for text, meta, _ in found.values() if meta.get("page", 1) <= 2)
        identity = read_identity("\n".join(text for _, text in first)).to_json()
        self.catalog.set_identity(self.collection, d.doc_id, identity)
        return identity

    # -- writing ---------------------------------------------------------------------------

    def repair(self) -> list[str]:
        """Remove documents whose ingest (or removal) was interrupted; return their ids."""
        removed = []
        with self._write_lock.if_free() as free:
            if not free:  # another ingest or removal is under way: its pending documents are its work
                log.info("collection %s is being written by another process; nothing to repair", self.collection)
                return removed
            for rec in self.catalog.documents(self.collection, status="pending"):
                self.store.delete_document(rec.doc_id)
                self.catalog.remove(self.collection, rec.doc_id)
                removed.append(rec.doc_id)
                log.warning("removed interrupted ingest file=%s doc_id=%s", rec.file, rec.doc_id)
        return removed

    def verify(self) -> list[str]:
        """Whether the catalog, the vector index (Chroma) and the BM25 rows agree on every document, after what
        a crash or a disk error left behind; whatever disagrees is removed, so that search sees only whole
        documents. A sentence for each problem found (and fixed); [] when all agree."""
        problems = [f"document {d}: its ingest or removal was interrupted; removed (add its file again)"
                    for d in self.repaired + self.repair()]
        self.repaired = []
        with self._write_lock:
            vectors, lexical = self.store.chunk_counts(), self.catalog.lexical_counts(self.collection)
            ready = {d.doc_id: d for d in self.documents()}
            for d in ready.values():
                if vectors.get(d.doc_id, 0) != d.chunks or lexical.get(d.doc_id, 0) != d.chunks:
                    problems.append(f"{d.file} (document {d.doc_id}): {vectors.get(d.doc_id, 0)} of its {d.chunks} "
                                    f"chunks in the vector index and {lexical.get(d.doc_id, 0)} in the keyword index; "
                                    "removed (add the file again)")
                    self.catalog.mark_pending(self.collection, d.doc_id)
                    self._remove(d)
            for doc_id in sorted((set(vectors) | set(lexical)) - set(ready)):
                problems.append(f"document {doc_id}: chunks in the index that no document holds; removed")
                self.store.delete_document(doc_id)
                self.catalog.remove(self.collection, doc_id)
        return problems

    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None) -> Iterator[IngestResult]:
        """Index each file; yield its result as soon as it is searchable (or has failed)."""
        files = expand_paths(paths)
        ready: queue.Queue = queue.Queue(maxsize=2)  # read and split one file ahead
        stop = threading.Event()
        reader = threading.Thread(target=self._prepare_all, args=(files, ready, stop), name="hearth-read",
                                  daemon=True)
        reader.start()
        writer = ChunkWriter(self.store)
        try:
            for _ in files:
                item = ready.get()
                if isinstance(item, BaseException):
                    raise item
                yield item if isinstance(item, IngestResult) else self._index(item, writer, progress)
        finally:
            stop.set()
            while reader.is_alive():  # let the reader see `stop` even if it waits on a full queue
                try:
                    ready.get(timeout=0.1)
                except queue.Empty:
                    pass
            writer.close()

    def _prepare_all(self, files: list[Path], out: queue.Queue, stop: threading.Event) -> None:
        for path in files:
            if stop.is_set():
                return
            try:
                item = self._prepare(path)
            except DocumentLoadError as e:
                item = IngestResult(str(path), "failed", error=str(e))
            except Exception as e:  # a bug or an unexpected library error: this file fails, the rest goes on
                log.exception("reading %s failed", path)
                item = IngestResult(str(path), "failed", error=f"{path.name}: could not be read ({e}).")
            except BaseException as e:
                out.put(e)
                return
            out.put(item)

    def _prepare(self, path: Path) -> _Prepared | IngestResult:
        if not path.is_file():
            raise DocumentLoadError(path, "no such file.", "Check the path.")
        sha = sha256_file(path)
        existing = self.catalog.get(self.collection, sha[:16])
        if existing and existing.status == "ready":
            return IngestResult(str(path), "unchanged", existing.doc_id, existing.pages, existing.chunks)
        doc = read_document(path, limits=self.limits, ocr=self.ocr)  # within its time and memory ceilings
        chunks = split_pages(doc.pages, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap,
                             length=self.tokens or len)
        return _Prepared(path, sha, doc, with_structure(doc, chunks))

    def _index(self, item: _Prepared, writer: ChunkWriter, progress: Progress | None) -> IngestResult:
        path, doc, chunks, doc_id = item.path, item.doc, item.chunks, item.sha[:16]
        name = display_name(path)  # stored and shown: nothing in it can hide or disguise the name
        identity, texts = embedding_texts(name, doc, chunks)
        record = DocRecord(self.collection, doc_id, name, str(path.resolve()), item.sha, len(doc.pages),
                           len(chunks), identity=identity.to_json())
        with self._write_lock:
            existing = self.catalog.get(self.collection, doc_id)
            if existing and existing.status == "ready":  # the same file twice in one batch
                return IngestResult(str(path), "unchanged", doc_id, existing.pages, existing.chunks)
            self.catalog.begin(record)
            try:
                boxes = {p.number: p.boxes for p in doc.pages if p.boxes}  # OCR'd pages: for their previews
                self._embed_and_write(doc_id, name, chunks, texts, writer, progress, boxes)
                writer.flush()
                replaced = [d for d in self.catalog.documents(self.collection)
                            if d.file == name and d.doc_id != doc_id]
                with self.catalog.transaction():
                    self.catalog.lexical(self.collection).add(
                        doc_id, ((f"{doc_id}:{c.index}", t) for c, t in zip(chunks, texts)))
                    self.catalog.finish(self.collection, doc_id)
                    for old in replaced:  # a changed file replaces the version indexed before under its name
                        self.catalog.mark_pending(self.collection, old.doc_id)
            except BaseException:
                writer.discard()
                self.store.delete_document(doc_id)
                self.catalog.remove(self.collection, doc_id)
                raise
            for old in replaced:
                self._remove(old)
        log.info("indexed file=%s pages=%d chunks=%d", name, len(doc.pages), len(chunks))
        return IngestResult(str(path), "indexed", doc_id, len(doc.pages), len(chunks), warnings=doc.warnings,
                            ocr_pages=doc.ocr_pages, encoding=doc.encoding)

    def _embed_and_write(self, doc_id: str, file: str, chunks: list[Chunk], texts: list[str], writer: ChunkWriter,
                         progress: Progress | None, boxes: dict | None = None) -> None:
        """Embed in batches (identical passages once) and hand each batch to the writer."""
        seen: dict[str, list[float]] = {}
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = list(range(start, min(start + EMBED_BATCH, len(chunks))))
            todo = list(dict.fromkeys(texts[i] for i in batch if texts[i] not in seen))
            seen.update(zip(todo, self.embedder.embed(todo)))
            writer.add([f"{doc_id}:{chunks[i].index}" for i in batch], [seen[texts[i]] for i in batch],
                       [chunks[i].text for i in batch], [_metadata(doc_id, file, chunks[i], boxes) for i in batch])
            if progress:
                progress(file, batch[-1] + 1, len(chunks))

    def forget(self, key: str) -> list[DocRecord]:
        """Remove every document whose id starts with key (6+ characters) or whose file name is key."""
        matches = [d for d in self.documents()
                   if d.file == key or display_name(key) == d.file or (len(key) >= 6 and d.doc_id.startswith(key))]
        with self._write_lock:
            for rec in matches:
                self.catalog.mark_pending(self.collection, rec.doc_id)
                self._remove(rec)
        return matches

    def _remove(self, rec: DocRecord) -> None:
        """Chunks first, then the record and lexical rows; the record is already 'pending', so an interrupted
        removal is finished by repair()."""
        self.store.delete_document(rec.doc_id)
        self.catalog.remove(self.collection, rec.doc_id)


def _metadata(doc_id: str, file: str, c: Chunk, boxes: dict | None = None) -> dict:
    meta = {"doc_id": doc_id, "file": file, "page": c.page, "page_end": c.page_end or c.page, "start": c.start,
            "end": c.end, "chunk": c.index, "section": c.section, "sha": c.sha, "kind": c.kind, "part": c.part}
    if boxes and (ocr := chunk_boxes(boxes, c.page, c.start, c.page_end, c.end)):
        meta["ocr_boxes"] = ocr  # where the passage is on its scanned page(s)
    return meta
