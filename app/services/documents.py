"""Documents and collections: one Library per collection, the one rule for collection names, the quotas of
Spaces mode, applied the same way to the page and the API, and a copy of each indexed original to show its pages
(uploads come from temporary folders that are gone after the ingest)."""

from __future__ import annotations

import logging
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from core.errors import InputError, LimitError, NotFoundError
from rag import DocRecord, IngestResult, Library, expand_paths
from rag.library import Progress
from rag.store import chroma_name

__all__ = ["Documents", "Quotas", "check_collection_name", "RESERVED_PREFIXES"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Collections Hearth names itself: an API key's private ones (key-<id>-<name>) and Spaces visitors'.
RESERVED_PREFIXES = ("key-", "visitor-")


def check_collection_name(name: str | None) -> str:
    """The name as given, or InputError: 1 to 64 letters, digits, '.', '_' or '-', not one of Hearth's own."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InputError(f"A collection needs a name of 1 to 64 characters: letters, digits, '.', '_' or '-', "
                         f"starting with a letter or digit (for example 'annual-reports'); got {name!r}.")
    if name.startswith(RESERVED_PREFIXES):
        raise InputError(f"collection names starting with {' or '.join(RESERVED_PREFIXES)} are Hearth's own; "
                         "choose another name.")
    return name


@dataclass(frozen=True)
class Quotas:
    """What one visitor or API key may add to one collection (Spaces mode)."""

    max_files: int  # per upload
    max_file_mb: int
    max_documents: int  # kept in the collection

    def check(self, paths: Sequence[Path], held: int) -> None:
        """LimitError naming the quota when an upload of these files to a collection holding `held` breaks one."""
        if len(paths) > self.max_files:
            raise LimitError(f"At most {self.max_files} files per upload in this demo; you sent {len(paths)}.")
        for p in paths:
            size = p.stat().st_size if p.is_file() else 0
            if size > self.max_file_mb * 2**20:
                raise LimitError(f"{p.name} is {size / 2**20:.1f} MB; this demo takes files of at most "
                                 f"{self.max_file_mb} MB.")
        if held + len(paths) > self.max_documents:
            raise LimitError(f"This demo keeps at most {self.max_documents} documents per visitor; you have {held}. "
                             "Remove some first.")


def _safe(collection: str) -> str:
    """A collection's name as a folder name (names that follow the rule are kept as they are)."""
    return re.sub(r"^[.]|[^A-Za-z0-9_.-]", "_", collection) or "_"


class Documents:
    """The collections of one Hearth: indexing, searching, listing and removing documents in each."""

    def __init__(self, *, open_library: Callable[[str], Library], catalog, chroma: Callable[[], object], default: str,
                 quotas: Quotas | None = None, originals: Path | None = None, previews: Path | None = None):
        self._open_library = open_library
        self.catalog = catalog
        self._chroma = chroma  # opened on first need: listing collections must not wait for Chroma
        self.default = default
        self.quotas = quotas  # None: no quotas (desktop)
        self.originals = originals  # <data_dir>/files: a folder per collection, <doc_id><suffix> in it; None: none kept
        self.previews = previews  # rendered pages (app.services.preview), a folder per collection; None: not kept
        self._libraries: dict[str, Library] = {}
        self._lock = threading.Lock()

    def library(self, collection: str | None = None) -> Library:
        name = collection or self.default
        with self._lock:
            if name not in self._libraries:
                self._libraries[name] = self._open_library(name)
            return self._libraries[name]

    def ingest(self, paths: Iterable[Path | str], *, collection: str | None = None,
               progress: Progress | None = None) -> Iterator[IngestResult]:
        """Index files and folders; each result comes as soon as that file is searchable (or has failed)."""
        paths = [Path(p) for p in paths]
        if self.quotas is not None:
            self.quotas.check(expand_paths(paths), len(self.list(collection)))
        return self._keeping(self.library(collection).ingest(paths, progress), collection or self.default)

    def _keeping(self, results: Iterator[IngestResult], collection: str) -> Iterator[IngestResult]:
        """Each result as it comes, its original copied first (while an upload's temporary file still exists);
        copies of versions a changed file replaced are removed."""
        try:
            for r in results:
                if self.originals is not None and r.doc_id and r.status in ("indexed", "unchanged"):
                    self._keep(Path(r.file), collection, r.doc_id)
                yield r
        finally:
            results.close()  # a caller that stops early stops the ingest's threads now

    def _keep(self, source: Path, collection: str, doc_id: str) -> None:
        folder = self._folder(collection)
        with self._lock:
            target = folder / f"{doc_id}{source.suffix.lower()}"
            if not target.is_file() and source.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target.with_suffix(".part"))
                target.with_suffix(".part").replace(target)
            ready = {d.doc_id for d in self.catalog.documents(collection)}
            for old in self._derived(collection):
                if old.name[:16] not in ready:
                    old.unlink(missing_ok=True)

    def _folder(self, collection: str) -> Path:
        return self.originals / _safe(collection)

    def previews_folder(self, collection: str) -> Path | None:
        return self.previews / _safe(collection) if self.previews is not None else None

    def _derived(self, collection: str, doc_id: str = "") -> list[Path]:
        """The copy of a document's original and its rendered pages (no doc_id: of every document)."""
        folders = [f for f in (self._folder(collection) if self.originals else None,
                               self.previews_folder(collection)) if f is not None and f.is_dir()]
        return [p for f in folders for p in f.iterdir() if p.name.startswith(doc_id) and p.is_file()]

    def original(self, record: DocRecord) -> Path:
        """The file to show a document's pages from: Hearth's copy, else the path it was ingested from."""
        if self.originals is not None:
            copy = self._folder(record.collection) / f"{record.doc_id}{Path(record.file).suffix.lower()}"
            if copy.is_file():
                return copy
        if Path(record.path).is_file():
            return Path(record.path)
        raise NotFoundError(f"{record.file}: its original is gone (no copy in the data dir's files folder, nothing "
                            f"at {record.path}); add the file again to see its pages.")

    def search(self, query: str, *, k: int, collection: str | None = None, doc_ids: Sequence[str] | None = None):
        return self.library(collection).search(query, k, doc_ids)

    def list(self, collection: str | None = None) -> list[DocRecord]:
        return self.library(collection).documents()

    def forget(self, key: str, *, collection: str | None = None) -> list[DocRecord]:
        """Remove the documents a key names (id, id prefix or file name), and their originals' copies."""
        removed = self.library(collection).forget(key)
        with self._lock:
            for path in (p for d in removed for p in self._derived(d.collection, d.doc_id)):
                path.unlink(missing_ok=True)
        return removed

    def collections(self) -> list[str]:
        """The page's collections; those of API keys and Spaces visitors are private to them."""
        return sorted({self.default, *(c for c in self.catalog.collections() if not c.startswith(RESERVED_PREFIXES))})

    def choose(self, name: str | None) -> str:
        """A collection the page may switch to: an existing one, or a new name that follows the rule."""
        name = (name or "").strip()
        return name if name in self.collections() else check_collection_name(name)

    def drop(self, collection: str) -> int:
        """Forget every document of a collection (a Spaces visitor's, when the session ends); how many went."""
        library = self.library(collection)
        docs = library.documents()
        for d in docs:
            library.forget(d.doc_id)
        with self._lock:
            self._libraries.pop(collection, None)
            for folder in (self._folder(collection) if self.originals else None, self.previews_folder(collection)):
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
        try:
            self._chroma().delete_collection(chroma_name(collection))
        except Exception as e:  # already gone: nothing to clean
            log.debug("delete collection %s: %s", collection, e)
        return len(docs)

    def drop_visitors(self, prefix: str = "visitor-") -> int:
        """Spaces mode at start: visitors' collections left by an earlier run (sessions do not outlive the
        server, so nobody can reach them any more) are deleted; returns how many documents went."""
        dropped = sum(self.drop(c) for c in self.catalog.collections() if c.startswith(prefix))
        for root in (r for r in (self.originals, self.previews) if r is not None and r.is_dir()):
            for folder in root.glob(_safe(prefix) + "*"):  # those of visitors who indexed nothing
                shutil.rmtree(folder, ignore_errors=True)
        return dropped
