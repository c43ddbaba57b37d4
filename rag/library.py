"""A collection of documents: ingest, forget, list and search, kept whole per document."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from rag.catalog import Catalog, DocRecord
from rag.embed import Embedder
from rag.errors import DocumentLoadError
from rag.load import SUPPORTED_SUFFIXES, load_document
from rag.split import split_pages
from rag.store import Hit, Store

__all__ = ["Library", "IngestResult", "expand_paths", "Progress"]

log = logging.getLogger(__name__)

EMBED_BATCH = 64

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

    def to_dict(self) -> dict:
        return asdict(self)


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, and the supported files inside folders (recursively, sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            out.append(p)
    return out


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Library:
    def __init__(self, *, catalog: Catalog, store: Store, embedder: Embedder, collection: str,
                 chunk_size: int = 1000, chunk_overlap: int = 150, max_bytes: int | None = None):
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.collection = collection
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_bytes = max_bytes
        self._write_lock = threading.Lock()
        self.repair()

    # -- reading ---------------------------------------------------------------------------

    def documents(self) -> list[DocRecord]:
        return self.catalog.documents(self.collection)

    def search(self, query: str, k: int = 5, doc_ids: Sequence[str] | None = None) -> list[Hit]:
        if not query.strip() or self.store.count() == 0:
            return []
        (vector,) = self.embedder.embed([query])
        return self.store.query(vector, k, doc_ids)

    # -- writing ---------------------------------------------------------------------------

    def repair(self) -> list[str]:
        """Remove documents whose ingest was interrupted; return their ids."""
        removed = []
        with self._write_lock:
            for rec in self.catalog.documents(self.collection, status="pending"):
                self.store.delete_document(rec.doc_id)
                self.catalog.remove(self.collection, rec.doc_id)
                removed.append(rec.doc_id)
                log.warning("removed interrupted ingest file=%s doc_id=%s", rec.file, rec.doc_id)
        return removed

    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None) -> Iterator[IngestResult]:
        """Index each file; yield its result as soon as it is searchable (or has failed)."""
        for path in expand_paths(paths):
            try:
                yield self._ingest_one(path, progress)
            except DocumentLoadError as e:
                yield IngestResult(str(path), "failed", error=str(e))

    def _ingest_one(self, path: Path, progress: Progress | None) -> IngestResult:
        if not path.is_file():
            raise DocumentLoadError(path, "no such file.", "Check the path.")
        sha = file_sha256(path)
        doc_id = sha[:16]
        existing = self.catalog.get(self.collection, doc_id)
        if existing and existing.status == "ready":
            return IngestResult(str(path), "unchanged", doc_id, existing.pages, existing.chunks)
        doc = load_document(path, max_bytes=self.max_bytes)
        chunks = split_pages(doc.pages, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
        record = DocRecord(self.collection, doc_id, path.name, str(path.resolve()), sha, len(doc.pages), len(chunks))
        with self._write_lock:
            self.catalog.begin(record)
            try:
                for start in range(0, len(chunks), EMBED_BATCH):
                    batch = chunks[start:start + EMBED_BATCH]
                    vectors = self.embedder.embed([c.text for c in batch])
                    self.store.add(
                        [f"{doc_id}:{c.index}" for c in batch], vectors, [c.text for c in batch],
                        [{"doc_id": doc_id, "file": path.name, "page": c.page, "start": c.start, "chunk": c.index}
                         for c in batch],
                    )
                    if progress:
                        progress(path.name, start + len(batch), len(chunks))
            except BaseException:
                self.store.delete_document(doc_id)
                self.catalog.remove(self.collection, doc_id)
                raise
            self.catalog.finish(self.collection, doc_id)
            # A changed file replaces the version indexed before under the same name.
            for old in self.catalog.documents(self.collection):
                if old.file == path.name and old.doc_id != doc_id:
                    self._remove(old)
        log.info("indexed file=%s pages=%d chunks=%d", path.name, len(doc.pages), len(chunks))
        return IngestResult(str(path), "indexed", doc_id, len(doc.pages), len(chunks))

    def forget(self, key: str) -> list[DocRecord]:
        """Remove every document whose id starts with key (6+ characters) or whose file name is key."""
        matches = [d for d in self.documents()
                   if d.file == key or Path(key).name == d.file or (len(key) >= 6 and d.doc_id.startswith(key))]
        with self._write_lock:
            for rec in matches:
                self._remove(rec)
        return matches

    def _remove(self, rec: DocRecord) -> None:
        self.store.delete_document(rec.doc_id)
        self.catalog.remove(self.collection, rec.doc_id)
