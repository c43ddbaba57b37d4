"""Which documents a collection holds, and whether each is complete, in SQLite.

A document is 'pending' while its chunks are written (or removed) and 'ready' after. Anything
still pending when Hearth opens an index was interrupted, and repair() removes it, so a search
only ever sees documents that are whole. The lexical (BM25) rows of a document live in the same
file and are written in the transaction that makes it ready, so they never drift from it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.lexical import SCHEMA as LEXICAL_SCHEMA, LexicalIndex

__all__ = ["Catalog", "DocRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    file TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready')),
    added_at REAL NOT NULL,
    identity TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (collection, doc_id)
);
CREATE INDEX IF NOT EXISTS documents_file ON documents (collection, file);
"""


@dataclass(frozen=True)
class DocRecord:
    collection: str
    doc_id: str
    file: str
    path: str
    sha256: str
    pages: int
    chunks: int
    status: str = "pending"
    added_at: float = 0.0
    identity: str = ""  # rag.identity.Identity as JSON ('{}': read, states nothing; '': not read yet)

    def to_dict(self) -> dict:
        return asdict(self)


class Catalog:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA + LEXICAL_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "identity" not in columns:  # an index made before documents kept their identity
            self._db.execute("ALTER TABLE documents ADD COLUMN identity TEXT NOT NULL DEFAULT ''")
        self._lock = threading.RLock()
        self._changes = 0
        self._lexical: dict[str, LexicalIndex] = {}

    @contextmanager
    def transaction(self):
        """One atomic write: everything inside commits together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._changes += 1

    def version(self) -> tuple[int, int]:
        """Changes whenever this or another process commits a change."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0], self._changes

    def lexical(self, collection: str) -> LexicalIndex:
        """The collection's BM25 index, kept in step with its ready documents."""
        with self._lock:
            if collection not in self._lexical:
                self._lexical[collection] = LexicalIndex(self._db, self._lock, collection)
            index = self._lexical[collection]
            index.sync(self.ready_ids(collection), self.version())
            return index

    def ready_ids(self, collection: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT doc_id FROM documents WHERE collection = ? AND status = 'ready' ORDER BY added_at", (collection,))]

    def ready_chunks(self, collection: str) -> dict[str, int]:
        """doc_id -> number of chunks (ids '<doc_id>:0' ... ) of each ready document."""
        with self._lock:
            return dict(self._db.execute(
                "SELECT doc_id, chunks FROM documents WHERE collection = ? AND status = 'ready' ORDER BY added_at",
                (collection,)))

    def single_page(self, collection: str) -> set[str]:
        """The ready documents of one page (or none): text, Markdown, HTML, Word; and one-page PDFs."""
        with self._lock:
            return {r[0] for r in self._db.execute(
                "SELECT doc_id FROM documents WHERE collection = ? AND status = 'ready' AND pages <= 1", (collection,))}

    def _rows(self, where: str, *args) -> list[DocRecord]:
        with self._lock:
            cur = self._db.execute(f"SELECT * FROM documents WHERE {where} ORDER BY file, added_at", args)
            return [DocRecord(*row) for row in cur.fetchall()]

    def get(self, collection: str, doc_id: str) -> DocRecord | None:
        rows = self._rows("collection = ? AND doc_id = ?", collection, doc_id)
        return rows[0] if rows else None

    def documents(self, collection: str, *, status: str = "ready") -> list[DocRecord]:
        return self._rows("collection = ? AND status = ?", collection, status)

    def collections(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT collection FROM documents ORDER BY 1")]

    def begin(self, record: DocRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (record.collection, record.doc_id, record.file, record.path, record.sha256, record.pages,
                 record.chunks, time.time(), record.identity),
            )

    def set_identity(self, collection: str, doc_id: str, identity: str) -> None:
        with self._lock:
            self._db.execute("UPDATE documents SET identity = ? WHERE collection = ? AND doc_id = ?",
                             (identity, collection, doc_id))

    def finish(self, collection: str, doc_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE documents SET status = 'ready', added_at = ? WHERE collection = ? AND doc_id = ?",
                (time.time(), collection, doc_id),
            )
            self._changes += 1

    def mark_pending(self, collection: str, doc_id: str) -> None:
        """Hide a document from search before its chunks are removed (repair() finishes the job if interrupted)."""
        with self._lock:
            self._db.execute("UPDATE documents SET status = 'pending' WHERE collection = ? AND doc_id = ?",
                             (collection, doc_id))
            self._changes += 1

    def remove(self, collection: str, doc_id: str) -> None:
        """Delete a document's record and its lexical rows, together."""
        with self.transaction():
            self._db.execute("DELETE FROM lexical_chunks WHERE collection = ? AND doc_id = ?", (collection, doc_id))
            self._db.execute("DELETE FROM documents WHERE collection = ? AND doc_id = ?", (collection, doc_id))

    def lexical_counts(self, collection: str) -> dict[str, int]:
        """doc_id -> how many chunks it has in the BM25 rows (for consistency checks)."""
        with self._lock:
            return dict(self._db.execute("SELECT doc_id, COUNT(*) FROM lexical_chunks WHERE collection = ? "
                                         "GROUP BY doc_id", (collection,)))

    def lexical_rows(self, collection: str, doc_id: str) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM lexical_chunks WHERE collection = ? AND doc_id = ?",
                                    (collection, doc_id)).fetchone()[0]

    def close(self) -> None:
        self._db.close()
