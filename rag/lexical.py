"""Lexical (BM25) search over chunks, kept in the catalog's SQLite file and in step with it.

Why not rebuild a bm25s index: bm25s cannot add or remove documents, and rebuilding it takes about 10 s
at 100k chunks on two cores. Here each chunk's term counts are stored next to its document's catalog
row, written in the same transaction that marks the document ready, and the in-memory index follows
the catalog's set of ready documents: a search never sees a document that is not whole, nor one that
was forgotten. Scores are BM25 as Lucene (and bm25s' default) computes them, over live chunks only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import sparse

__all__ = ["tokenize", "LexicalIndex", "LexicalHit", "SCHEMA"]

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS lexical_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS lexical_chunks (
    collection TEXT NOT NULL, doc_id TEXT NOT NULL, chunk_id TEXT NOT NULL,
    length INTEGER NOT NULL, terms BLOB NOT NULL, counts BLOB NOT NULL,
    PRIMARY KEY (collection, chunk_id)
);
CREATE INDEX IF NOT EXISTS lexical_chunks_doc ON lexical_chunks (collection, doc_id);
"""

K1, B = 1.5, 0.75
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how in is it its of on or that the this to "
    "was were what when where which who why will with".split()
) | frozenset("的 了 是 在 和 与 及 或 也 就 都 而 之 其 这 那 有 为 对 把 被 吗 呢 吧 啊".split())
_jieba_lock = threading.Lock()


def tokenize(text: str) -> list[str]:
    """Lower-cased words; Chinese cut into words (and their parts) by jieba; stopwords dropped."""
    out: list[str] = []
    pos = 0
    for m in _CJK.finditer(text):
        out += _WORD.findall(text[pos:m.start()].lower())
        out += _cut_chinese(m.group())
        pos = m.end()
    out += _WORD.findall(text[pos:].lower())
    return [t for t in out if t not in STOPWORDS]


def _cut_chinese(run: str) -> list[str]:
    import jieba

    with _jieba_lock:  # jieba initialises its dictionary on first use, not thread-safely
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
    return [w for w in jieba.cut_for_search(run) if w.strip()]


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    doc_id: str
    score: float


class LexicalIndex:
    """BM25 over one collection's ready chunks. add()/remove() are called inside the catalog's transaction."""

    def __init__(self, db, lock: threading.RLock, collection: str):
        self._db, self._lock, self.collection = db, lock, collection
        self._vocab: dict[str, int] = {}
        self._docs: dict[str, int] = {}  # doc_id -> index into _doc_ids
        self._doc_ids: list[str] = []
        self._chunk_ids: list[str] = []
        self._row_doc = np.zeros(0, np.int32)
        self._lengths = np.zeros(0, np.float32)
        self._alive = np.zeros(0, bool)
        self._segments: list[tuple[int, sparse.csc_matrix]] = []  # (first row, rows x terms counts)
        self._seen_version: tuple | None = None

    # -- writing (inside a catalog transaction) -------------------------------------------

    def add(self, doc_id: str, chunks: Iterable[tuple[str, str]]) -> None:
        """Store (chunk_id, text) term counts for a document; call inside the catalog's transaction."""
        rows = [(cid, Counter(tokenize(text))) for cid, text in chunks]
        terms = sorted({t for _, c in rows for t in c})
        self._db.executemany("INSERT OR IGNORE INTO lexical_terms (term) VALUES (?)", [(t,) for t in terms])
        ids = self._term_ids(terms)
        self._db.executemany(
            "INSERT OR REPLACE INTO lexical_chunks VALUES (?, ?, ?, ?, ?, ?)",
            [(self.collection, doc_id, cid, sum(c.values()), np.array([ids[t] for t in c], np.int32).tobytes(),
              np.array(list(c.values()), np.int32).tobytes()) for cid, c in rows])

    def remove(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM lexical_chunks WHERE collection = ? AND doc_id = ?", (self.collection, doc_id))

    def _term_ids(self, terms: Sequence[str]) -> dict[str, int]:
        out = {}
        for i in range(0, len(terms), 500):
            part = terms[i:i + 500]
            q = f"SELECT term, id FROM lexical_terms WHERE term IN ({','.join('?' * len(part))})"
            out.update(self._db.execute(q, part).fetchall())
        return out

    # -- keeping the in-memory index in step with the catalog -----------------------------

    def sync(self, ready: Sequence[str], version) -> None:
        """Make the in-memory index hold exactly the chunks of the `ready` documents."""
        with self._lock:
            if version is not None and version == self._seen_version:
                return
            ready_set = set(ready)
            for doc_id in [d for d in self._docs if d not in ready_set]:
                self._alive[self._row_doc == self._docs.pop(doc_id)] = False
            new = [d for d in ready if d not in self._docs]
            if new:
                self._load(new)
            if self._alive.size and (~self._alive).sum() > max(1000, self._alive.size // 4):
                self._compact()
            self._seen_version = version

    def _load(self, doc_ids: list[str]) -> None:
        self._vocab.update(self._db.execute("SELECT term, id FROM lexical_terms WHERE id > ?",
                                            (max(self._vocab.values(), default=0),)).fetchall())
        first = len(self._chunk_ids)
        indptr, indices, data, lengths, row_doc = [0], [], [], [], []
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i:i + 500]
            cur = self._db.execute(
                f"SELECT doc_id, chunk_id, length, terms, counts FROM lexical_chunks WHERE collection = ? "
                f"AND doc_id IN ({','.join('?' * len(part))}) ORDER BY rowid", [self.collection, *part])
            for doc_id, chunk_id, length, terms, counts in cur:
                if doc_id not in self._docs:
                    self._docs[doc_id] = len(self._doc_ids)
                    self._doc_ids.append(doc_id)
                self._chunk_ids.append(chunk_id)
                row_doc.append(self._docs[doc_id])
                lengths.append(length)
                indices.append(np.frombuffer(terms, np.int32))
                data.append(np.frombuffer(counts, np.int32))
                indptr.append(indptr[-1] + len(indices[-1]))
        for doc_id in doc_ids:  # a ready document with no words (only numbers and stopwords) is still known
            if doc_id not in self._docs:
                self._docs[doc_id] = len(self._doc_ids)
                self._doc_ids.append(doc_id)
        n = len(lengths)
        if n:
            width = max(self._vocab.values(), default=0) + 1
            block = sparse.csr_matrix((np.concatenate(data).astype(np.float32), np.concatenate(indices),
                                       np.array(indptr)), shape=(n, width)).tocsc()
            self._segments.append((first, block))
            self._row_doc = np.concatenate([self._row_doc, np.array(row_doc, np.int32)])
            self._lengths = np.concatenate([self._lengths, np.array(lengths, np.float32)])
            self._alive = np.concatenate([self._alive, np.ones(n, bool)])
        if len(self._segments) > 8:
            self._compact()

    def _compact(self) -> None:
        """Merge segments into one and drop the rows of removed documents."""
        keep = np.flatnonzero(self._alive)
        width = max(self._vocab.values(), default=0) + 1
        blocks = [_widen(m, width) for _, m in self._segments]
        merged = sparse.vstack(blocks, format="csr")[keep].tocsc() if blocks else sparse.csc_matrix((0, width))
        live_docs = sorted(set(self._row_doc[keep].tolist()))
        remap = {old: new for new, old in enumerate(live_docs)}
        self._doc_ids = [self._doc_ids[i] for i in live_docs]
        self._docs = {d: i for i, d in enumerate(self._doc_ids)}
        self._row_doc = np.array([remap[d] for d in self._row_doc[keep].tolist()], np.int32)
        self._chunk_ids = [self._chunk_ids[i] for i in keep.tolist()]
        self._lengths = self._lengths[keep]
        self._alive = np.ones(len(keep), bool)
        self._segments = [(0, merged)] if len(keep) else []

    # -- searching ------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._alive.sum())

    def present(self, words: Iterable[str]) -> set[str]:
        """The words (as tokenize() writes them) that some live chunk holds."""
        out = set()
        with self._lock:
            for word in dict.fromkeys(words):
                term = self._vocab.get(word)
                if term is not None and any(
                        self._alive[m.indices[m.indptr[term]:m.indptr[term + 1]] + first].any()
                        for first, m in self._segments if term < m.shape[1]):
                    out.add(word)
        return out

    def search(self, query: str, k: int, doc_ids: Sequence[str] | None = None) -> list[LexicalHit]:
        return self.search_scopes(query, k, [doc_ids])[0]

    def search_scopes(self, query: str, k: int, scopes: Sequence[Sequence[str] | None]) -> list[list[LexicalHit]]:
        """search() within each scope (None: everything), the query scored once for all of them."""
        with self._lock:
            scores = self._scores(query)
            return [self._top(scores, k, doc_ids) if scores is not None and k > 0 else [] for doc_ids in scopes]

    def _scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every row (0 for dead rows and rows without a query term); None when nothing can match."""
        terms = [self._vocab[t] for t in dict.fromkeys(tokenize(query)) if t in self._vocab]
        n_live = int(self._alive.sum())
        if not terms or n_live == 0:
            return None
        avgdl = float(self._lengths[self._alive].mean()) or 1.0
        norm = K1 * (1 - B + B * self._lengths / avgdl)
        scores = np.zeros(self._alive.size, np.float32)
        for term in terms:
            rows, tfs = [], []
            for first, m in self._segments:
                if term < m.shape[1]:
                    lo, hi = m.indptr[term], m.indptr[term + 1]
                    rows.append(m.indices[lo:hi] + first)
                    tfs.append(m.data[lo:hi])
            if not rows:
                continue
            r, tf = np.concatenate(rows), np.concatenate(tfs)
            live = self._alive[r]
            r, tf = r[live], tf[live]
            df = r.size
            if df == 0:
                continue
            idf = np.log(1 + (n_live - df + 0.5) / (df + 0.5))
            scores[r] += idf * tf / (tf + norm[r])
        return scores

    def _top(self, scores: np.ndarray, k: int, doc_ids: Sequence[str] | None) -> list[LexicalHit]:
        top = np.flatnonzero(scores > 0)
        if doc_ids is not None:
            wanted = [self._docs[d] for d in doc_ids if d in self._docs]
            top = top[np.isin(self._row_doc[top], wanted)]
        if top.size > k:
            top = top[np.argpartition(-scores[top], k - 1)[:k]]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalHit(self._chunk_ids[i], self._doc_ids[self._row_doc[i]], float(scores[i])) for i in top]


def _widen(m: sparse.csc_matrix, width: int) -> sparse.csc_matrix:
    """The same column-compressed block with empty columns added up to `width` (terms it never saw)."""
    if m.shape[1] >= width:
        return m
    indptr = np.concatenate([m.indptr, np.full(width - m.shape[1], m.indptr[-1], m.indptr.dtype)])
    return sparse.csc_matrix((m.data, m.indices, indptr), shape=(m.shape[0], width))
