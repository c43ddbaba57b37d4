"""The collection an evaluation searches: a folder of documents, indexed once and reused while it is unchanged."""

from __future__ import annotations

import re
import time
from pathlib import Path

from core.digest import sha256_text
from core.errors import InputFileError
from rag import expand_paths
from rag.library import Progress

__all__ = ["collection_name", "prepare_collection"]


def collection_name(docs_dir: Path, fingerprint: str = "") -> str:
    """eval-<folder>-<hash of its absolute path and the indexing settings>: one collection per folder and setup."""
    docs_dir = Path(docs_dir).resolve()
    digest = sha256_text(f"{docs_dir}\n{fingerprint}")[:10]
    return f"eval-{re.sub(r'[^A-Za-z0-9]+', '-', docs_dir.name).strip('-')[:40] or 'docs'}-{digest}"


def prepare_collection(hearth, docs_dir: Path, collection: str, *, progress: Progress | None = None):
    """Index every supported file under docs_dir into `collection`, drop documents no longer there.

    Returns (library, report); report lists files indexed, unchanged and failed, and the seconds it took.
    """
    docs_dir = Path(docs_dir)
    if not docs_dir.is_dir():
        raise InputFileError(docs_dir, "no such folder (--docs must be a folder of PDF, TXT or Markdown files).")
    files = expand_paths([docs_dir])
    if not files:
        raise InputFileError(docs_dir, "the folder holds no PDF, TXT or Markdown files.")
    library = hearth.documents.library(collection)
    t0 = time.perf_counter()
    results = list(library.ingest(files, progress))
    names = {f.name for f in files}
    stale = [d.file for d in library.documents() if d.file not in names]
    for name in stale:
        library.forget(name)
    counts = {s: sum(r.status == s for r in results) for s in ("indexed", "unchanged")}
    return library, {
        "dir": str(docs_dir), "collection": collection, "files": len(files), **counts,
        "failed": [{"file": Path(r.file).name, "error": r.error} for r in results if r.status == "failed"],
        "removed": stale, "seconds": round(time.perf_counter() - t0, 1),
        "chunks": sum(d.chunks for d in library.documents()), "pages": sum(d.pages for d in library.documents()),
    }
