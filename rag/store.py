"""Chunks and their vectors in a Chroma collection."""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from core.errors import SettingsError

__all__ = ["Store", "Hit", "open_chroma", "open_chroma_http", "chroma_name"]

MAX_ID_SCOPE = 20_000  # chunks: a larger scope goes to Chroma as a metadata filter instead of a list of ids
VECTOR_CACHE_CHUNKS = 20_000  # chunks whose vectors a Store keeps in memory for scoped searches (30 MB at 384-d)

ADD_BATCH = 256
FIELDS = ("kind", "part")  # chunk metadata a search can be limited to (rag.statements)


@dataclass(frozen=True)
class Hit:
    file: str
    page: int  # 1-based page the passage starts on
    score: float  # cosine similarity of passage and question, 0..1 (hits are ordered by the fused rank)
    text: str
    doc_id: str
    chunk_id: str
    page_end: int = 0  # last page of the passage (== page unless it crosses a page break)
    section: str = ""  # section heading, where known
    start: int = 0  # character offset of the passage in page's text
    end: int = 0  # character offset just past its end, in page_end's text
    content_hash: str = ""
    dense_rank: int | None = None  # 1-based rank in the dense (embedding) results, None if absent
    lexical_rank: int | None = None  # 1-based rank in the BM25 results, None if absent
    rerank_score: float | None = None  # the cross-encoder's score, when one reranked

    @property
    def pages(self) -> str:
        return str(self.page) if self.page_end in (0, self.page) else f"{self.page}-{self.page_end}"

    def to_dict(self) -> dict:
        return {**asdict(self), "pages": self.pages}


def hit_from(chunk_id: str, text: str, meta: dict, score: float) -> Hit:
    return Hit(meta["file"], int(meta["page"]), round(min(max(score, 0.0), 1.0), 4), text, meta["doc_id"], chunk_id,
               int(meta.get("page_end") or meta["page"]), str(meta.get("section") or ""), int(meta.get("start") or 0),
               int(meta.get("end") or 0), str(meta.get("sha") or ""))


def open_chroma(path: Path):
    """A persistent Chroma client with its telemetry off."""
    import chromadb

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    )


def open_chroma_http(url: str):
    """A client of a Chroma server (`chroma run`), e.g. http://chroma-box:8000, with its telemetry off."""
    from urllib.parse import urlsplit

    import chromadb

    u = urlsplit(url if "://" in url else f"http://{url}")
    if not u.hostname:
        raise SettingsError(f"chroma_url {url!r} names no host; use e.g. http://chroma-box:8000")
    return chromadb.HttpClient(host=u.hostname, port=u.port or (443 if u.scheme == "https" else 8000),
                               ssl=u.scheme == "https", settings=chromadb.Settings(anonymized_telemetry=False))


def chroma_name(collection: str) -> str:
    """Chroma allows [a-zA-Z0-9._-], 3-512 characters; map any collection name onto that."""
    safe = re.sub(r"[^a-zA-Z0-9._-]", "_", collection).strip("._-") or "default"
    return f"hearth-{safe}"[:512]


class Store:
    def __init__(self, client, collection: str):
        self.collection_name = collection
        self._col = client.get_or_create_collection(
            chroma_name(collection), configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        # doc_id -> its chunks' unit vectors in chunk order, least recently used first. A doc_id names its
        # content (a hash), so its vectors never change while it is ready; delete_document drops the entry.
        self._vectors: OrderedDict[str, tuple[np.ndarray, list[dict]]] = OrderedDict()
        self._vectors_lock = threading.Lock()
        # doc_id -> (ids, unit vectors, kinds) of its chunks on statement pages (metadata "kind"; rag.statements):
        # a few percent of an index, kept for every document a search routes over (statements_within)
        self._statements: dict[str, tuple[list[str], np.ndarray, list[str]]] = {}

    def count(self) -> int:
        return self._col.count()

    def add(self, ids: Sequence[str], embeddings: Sequence[Sequence[float]], texts: Sequence[str],
            metadatas: Sequence[dict]) -> None:
        for i in range(0, len(ids), ADD_BATCH):
            j = i + ADD_BATCH
            self._col.upsert(ids=list(ids[i:j]), embeddings=list(embeddings[i:j]), documents=list(texts[i:j]),
                             metadatas=list(metadatas[i:j]))

    def delete_document(self, doc_id: str) -> None:
        with self._vectors_lock:
            self._vectors.pop(doc_id, None)
            self._statements.pop(doc_id, None)
        self._col.delete(where={"doc_id": doc_id})

    def chunk_count(self, doc_id: str) -> int:
        return len(self._col.get(where={"doc_id": doc_id}, include=[])["ids"])

    def query(self, embedding: Sequence[float], k: int, doc_ids: Sequence[str] | None = None) -> list[Hit]:
        """The k nearest chunks (cosine), optionally only from some documents."""
        if doc_ids is not None and not doc_ids:
            return []
        res = self._col.query(query_embeddings=[list(embedding)], n_results=k, where=_only(doc_ids),
                              include=["documents", "metadatas", "distances"])
        return [hit_from(cid, text, meta, 1.0 - float(dist))
                for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                                 res["distances"][0])]

    def query_ids(self, embedding: Sequence[float], k: int, doc_ids: Sequence[str] | None = None,
                  chunks: Mapping[str, int] | None = None,
                  fields: Mapping[str, Sequence[str]] | None = None) -> list[str]:
        """The ids of the k nearest chunks, best first: query() without reading texts and metadata from disk
        (search fetches those once, for the fused candidates only).

        chunks: the chunk count of each ready document (rag.catalog). With it, a scope of up to MAX_ID_SCOPE
        chunks is searched exactly, in memory, over its documents' vectors: read from Chroma by chunk id the
        first time and kept (VECTOR_CACHE_CHUNKS in all, least recently used dropped). For a filing of 1,000
        chunks in an index of 100k, the first question reads its vectors in about 26 ms; later questions take
        0.25 ms instead of a scoped Chroma query's 19 ms (45 ms as a metadata filter).

        fields: only chunks whose metadata field holds one of the values, {"kind": ["balance", "income"]}
        (rag.statements: the pages a question is routed to)."""
        if doc_ids is not None and not doc_ids:
            return []
        if doc_ids is not None and chunks is not None and sum(chunks.get(d, 0) for d in doc_ids) <= MAX_ID_SCOPE:
            return self._nearest_within(embedding, k, [d for d in dict.fromkeys(doc_ids) if chunks.get(d)], chunks,
                                        fields)
        where = [w for w in (_only(doc_ids), *(_field(name, values) for name, values in (fields or {}).items()))
                 if w is not None]
        return self._col.query(query_embeddings=[list(embedding)], n_results=k,
                               where=where[0] if len(where) == 1 else {"$and": where} if where else None,
                               include=[])["ids"][0]

    def _nearest_within(self, embedding: Sequence[float], k: int, doc_ids: list[str],
                        chunks: Mapping[str, int], fields: Mapping[str, Sequence[str]] | None = None) -> list[str]:
        """Exact cosine top k over these documents' chunks (ties: document order, then chunk order)."""
        if not doc_ids or k <= 0:
            return []
        parts = [part for part in (self._document_vectors(d, chunks[d]) for d in doc_ids) if part[0]]
        if fields:
            masks = [np.array([all(t.get(name, "") in values for name, values in fields.items()) for t in tags], bool)
                     for _, _, tags in parts]
            parts = [([cid for cid, ok in zip(ids, mask) if ok], m[mask], tags)
                     for (ids, m, tags), mask in zip(parts, masks)]
        ids = [cid for part_ids, _, _ in parts for cid in part_ids]
        if not ids:
            return []
        q = np.asarray(embedding, dtype=np.float32)
        return _top(ids, np.concatenate([m @ q for _, m, _ in parts]), k)

    def _document_vectors(self, doc_id: str, n: int) -> tuple[list[str], np.ndarray, list[dict]]:
        """The chunk ids, unit vectors and routing fields (FIELDS) of a ready document of n chunks, from the cache
        or from Chroma."""
        ids = [f"{doc_id}:{i}" for i in range(n)]
        with self._vectors_lock:
            hit = self._vectors.get(doc_id)
            if hit is not None and len(hit[0]) == n:
                self._vectors.move_to_end(doc_id)
                return ids, *hit
        res = self._col.get(ids=ids, include=["embeddings", "metadatas"])
        row = {cid: i for i, cid in enumerate(res["ids"])}
        ids = [cid for cid in ids if cid in row]  # all of them, unless the index is being repaired
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32), []
        vectors = np.asarray(res["embeddings"], dtype=np.float32)[[row[c] for c in ids]]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        tags = [{f: str((res["metadatas"][row[c]] or {}).get(f, "")) for f in FIELDS} for c in ids]
        if len(ids) == n:
            with self._vectors_lock:
                self._vectors[doc_id] = (vectors, tags)
                held = sum(len(v[0]) for v in self._vectors.values())
                while held > VECTOR_CACHE_CHUNKS and len(self._vectors) > 1:
                    held -= len(self._vectors.popitem(last=False)[1][0])
        return ids, vectors, tags

    def statements_within(self, embedding: Sequence[float], k: int, doc_ids: Sequence[str],
                          kinds: Sequence[str]) -> list[str]:
        """The k nearest chunks on statement pages of these kinds (metadata "kind") in these documents, exact: the
        statement chunks of every document are read once (one Chroma query for all the documents not read yet)
        and kept, so a routed question over a whole index of 100k chunks needs no filtered Chroma query (171 ms
        at p95 there, measured; benchmarks/bench_retrieval.py)."""
        with self._vectors_lock:
            missing = [d for d in dict.fromkeys(doc_ids) if d not in self._statements]
        if missing:
            res = self._col.get(where={"$and": [_only(missing), {"kind": {"$ne": ""}}]},
                                include=["embeddings", "metadatas"])
            by_doc: dict[str, list[int]] = {d: [] for d in missing}
            for i, meta in enumerate(res["metadatas"]):
                if meta and meta.get("doc_id") in by_doc:
                    by_doc[meta["doc_id"]].append(i)
            vectors = np.asarray(res["embeddings"], dtype=np.float32) if res["ids"] else np.zeros((0, 1), np.float32)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            with self._vectors_lock:
                for d, rows in by_doc.items():
                    m = vectors[rows]
                    self._statements[d] = ([res["ids"][i] for i in rows], m,
                                           [str(res["metadatas"][i].get("kind", "")) for i in rows])
        with self._vectors_lock:
            parts = [self._statements[d] for d in dict.fromkeys(doc_ids) if d in self._statements]
        wanted = set(kinds)
        ids = [cid for part_ids, _, tags in parts for cid, t in zip(part_ids, tags) if t in wanted]
        if not ids or k <= 0:
            return []
        q = np.asarray(embedding, dtype=np.float32)
        return _top(ids, np.concatenate([m[[t in wanted for t in tags]] @ q for _, m, tags in parts if len(tags)]), k)

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, dict, list[float]]]:
        """chunk id -> (text, metadata, embedding) for the ids that exist."""
        if not ids:
            return {}
        res = self._col.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        return {cid: (text, meta, emb) for cid, text, meta, emb in
                zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"])}

    def pages_of(self, ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """chunk id -> (doc_id, page it starts on), for the ids that exist (metadata only)."""
        ids = list(ids)
        if not ids:
            return {}
        res = self._col.get(ids=ids, include=["metadatas"])
        return {cid: (meta["doc_id"], int(meta["page"])) for cid, meta in zip(res["ids"], res["metadatas"])}

    def document_ids(self) -> set[str]:
        """Every doc_id that has chunks (for consistency checks; reads all metadata)."""
        return set(self.chunk_counts())

    def chunk_counts(self) -> dict[str, int]:
        """doc_id -> how many chunks it has here (for consistency checks; reads all metadata)."""
        return dict(Counter(m["doc_id"] for m in self._col.get(include=["metadatas"])["metadatas"]))


def _top(ids: list[str], scores: np.ndarray, k: int) -> list[str]:
    """The k ids of the highest scores, best first (ties: the order of ids)."""
    k = min(k, len(ids))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
    return [ids[i] for i in sorted(top, key=lambda i: (-scores[i], i))]


def _field(name: str, values: Sequence[str]) -> dict:
    return {name: {"$in": list(values)}} if len(values) > 1 else {name: values[0]}


def _only(doc_ids: Sequence[str] | None) -> dict | None:
    """Chroma's where filter for chunks of these documents; None for all."""
    if doc_ids is None:
        return None
    return {"doc_id": {"$in": list(doc_ids)}} if len(doc_ids) > 1 else {"doc_id": doc_ids[0]}
