"""Chunks and their vectors in a Chroma collection."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["Store", "Hit", "open_chroma", "open_chroma_http", "chroma_name"]

ADD_BATCH = 256


@dataclass(frozen=True)
class Hit:
    file: str
    page: int
    score: float
    text: str
    doc_id: str
    chunk_id: str

    def to_dict(self) -> dict:
        return asdict(self)


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
        raise ValueError(f"chroma_url {url!r} names no host; use e.g. http://chroma-box:8000")
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

    def count(self) -> int:
        return self._col.count()

    def add(self, ids: Sequence[str], embeddings: Sequence[Sequence[float]], texts: Sequence[str],
            metadatas: Sequence[dict]) -> None:
        for i in range(0, len(ids), ADD_BATCH):
            j = i + ADD_BATCH
            self._col.upsert(ids=list(ids[i:j]), embeddings=list(embeddings[i:j]), documents=list(texts[i:j]),
                             metadatas=list(metadatas[i:j]))

    def delete_document(self, doc_id: str) -> None:
        self._col.delete(where={"doc_id": doc_id})

    def chunk_count(self, doc_id: str) -> int:
        return len(self._col.get(where={"doc_id": doc_id}, include=[])["ids"])

    def query(self, embedding: Sequence[float], k: int, doc_ids: Sequence[str] | None = None) -> list[Hit]:
        where = None
        if doc_ids is not None:
            if not doc_ids:
                return []
            where = {"doc_id": {"$in": list(doc_ids)}}
        res = self._col.query(query_embeddings=[list(embedding)], n_results=k, where=where,
                              include=["documents", "metadatas", "distances"])
        hits = []
        for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                         res["distances"][0]):
            hits.append(Hit(meta["file"], int(meta["page"]), round(1.0 - float(dist), 4), text, meta["doc_id"], cid))
        return hits
