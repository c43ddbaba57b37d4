"""Ingest and search with the real embedder and a real Chroma on disk."""

import shutil

import numpy as np
import pytest

from conftest import AAPL_PDF, make_pdf
from rag import Catalog, DocRecord, Library, Store, open_chroma


def open_library(data_dir, embedder, collection="default", **kw) -> Library:
    return Library(catalog=Catalog(data_dir / "catalog.sqlite3"), store=Store(open_chroma(data_dir / "chroma"), collection),
                   embedder=embedder, collection=collection, **kw)


@pytest.fixture
def lib(tmp_path, embedder):
    return open_library(tmp_path / "data", embedder)


def test_search_finds_the_right_page_of_a_real_filing(lib):
    (r,) = list(lib.ingest([AAPL_PDF]))
    assert (r.status, r.pages) == ("indexed", 28) and r.chunks > 50
    hits = lib.search("What risks does the company see in the COVID-19 pandemic?", k=3)
    assert hits and all(h.file == AAPL_PDF.name for h in hits)
    hits = lib.search("total iPhone net sales for the three months ended June 25, 2022", k=5)
    # iPhone's $40,665 million is on page 10 (Note 2, net sales by category) and page 18 (MD&A) of this 10-Q.
    assert {10, 18} & {h.page for h in hits}
    assert all(1 <= h.page <= 28 and 0 < h.score <= 1 for h in hits)


def test_each_file_fails_alone_and_the_rest_is_indexed(tmp_path, lib):
    good = make_pdf(tmp_path / "good.pdf", ["The widget budget for 2024 is 1.2 million euros."])
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"PK\x03\x04 a zip file")
    results = {r.file.split("/")[-1]: r for r in lib.ingest([bad, good, empty, fake, tmp_path / "missing.pdf"])}
    assert results["good.pdf"].status == "indexed"
    for name in ("broken.pdf", "empty.pdf", "report.pdf", "missing.pdf"):
        assert results[name].status == "failed" and results[name].error.startswith(name)
    assert [d.file for d in lib.documents()] == ["good.pdf"]
    assert lib.search("widget budget", k=1)[0].file == "good.pdf"


def test_index_survives_a_restart(tmp_path, embedder):
    data = tmp_path / "data"
    list(open_library(data, embedder).ingest([AAPL_PDF]))
    again = open_library(data, embedder)
    assert [d.file for d in again.documents()] == [AAPL_PDF.name]
    assert again.search("iPhone net sales", k=1)[0].file == AAPL_PDF.name


def test_unchanged_file_is_not_indexed_twice(lib):
    first = list(lib.ingest([AAPL_PDF]))[0]
    count = lib.store.count()
    second = list(lib.ingest([AAPL_PDF]))[0]
    assert second.status == "unchanged" and second.doc_id == first.doc_id
    assert lib.store.count() == count


def test_changed_file_replaces_its_old_chunks(tmp_path, lib):
    path = make_pdf(tmp_path / "plan.pdf", ["The launch date is March."])
    old = list(lib.ingest([path]))[0]
    make_pdf(path, ["The launch date moved to October.", "A second page about staffing."])
    new = list(lib.ingest([path]))[0]
    assert new.status == "indexed" and new.doc_id != old.doc_id
    assert [d.doc_id for d in lib.documents()] == [new.doc_id]
    assert lib.store.chunk_count(old.doc_id) == 0
    assert "October" in lib.search("launch date", k=1)[0].text


def test_forget_removes_every_chunk(tmp_path, lib):
    path = make_pdf(tmp_path / "memo.pdf", ["Memo about the merger.", "Second page."])
    r = list(lib.ingest([path, AAPL_PDF]))[0]
    removed = lib.forget(r.doc_id[:8])
    assert [d.file for d in removed] == ["memo.pdf"]
    assert lib.store.chunk_count(r.doc_id) == 0
    assert [d.file for d in lib.documents()] == [AAPL_PDF.name]
    assert lib.forget("memo.pdf") == []
    assert lib.forget(AAPL_PDF.name)[0].file == AAPL_PDF.name
    assert lib.store.count() == 0


def test_search_can_be_scoped_to_documents(tmp_path, lib):
    memo = make_pdf(tmp_path / "memo.pdf", ["Net sales of widgets rose ten percent."])
    ids = {r.file.split("/")[-1]: r.doc_id for r in lib.ingest([memo, AAPL_PDF])}
    hits = lib.search("net sales", k=5, doc_ids=[ids["memo.pdf"]])
    assert {h.file for h in hits} == {"memo.pdf"}
    assert lib.search("net sales", k=5, doc_ids=[]) == []


def test_collections_are_separate(tmp_path, embedder):
    data = tmp_path / "data"
    a = open_library(data, embedder, "project-a")
    b = open_library(data, embedder, "project b/ü")
    list(a.ingest([AAPL_PDF]))
    assert b.documents() == [] and b.search("iPhone", k=3) == []


class FailingEmbedder:
    """Wraps the real embedder and raises on the Nth call, like a crash in the middle of a document."""

    def __init__(self, real, fail_on: int):
        self.real, self.fail_on, self.calls = real, fail_on, 0

    def embed(self, texts):
        self.calls += 1
        if self.calls == self.fail_on:
            raise KeyboardInterrupt("interrupted mid-document")
        return self.real.embed(texts)


def test_interrupted_ingest_leaves_nothing_behind(tmp_path, embedder):
    data = tmp_path / "data"
    lib = open_library(data, FailingEmbedder(embedder, fail_on=2))
    with pytest.raises(KeyboardInterrupt):
        list(lib.ingest([AAPL_PDF]))
    assert lib.documents() == [] and lib.store.count() == 0


def test_pending_document_from_a_killed_process_is_removed_on_open(tmp_path, embedder):
    """A process killed mid-ingest leaves a 'pending' record and some chunks; the next open repairs it."""
    data = tmp_path / "data"
    catalog, store = Catalog(data / "catalog.sqlite3"), Store(open_chroma(data / "chroma"), "default")
    catalog.begin(DocRecord("default", "deadbeefdeadbeef", "half.pdf", "/x/half.pdf", "ab" * 32, 3, 10))
    store.add(["deadbeefdeadbeef:0"], embedder.embed(["half a document"]), ["half a document"],
              [{"doc_id": "deadbeefdeadbeef", "file": "half.pdf", "page": 1, "start": 0, "chunk": 0}])
    catalog.close()
    lib = open_library(data, embedder)
    assert lib.documents() == [] and lib.store.count() == 0
    assert lib.catalog.documents("default", status="pending") == []


def test_folder_ingest_picks_supported_files(tmp_path, lib):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(AAPL_PDF, folder / "sub" / "aapl.pdf")
    (folder / "notes.md").write_text("# Notes\nThe board meets in May.", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG")
    results = list(lib.ingest([folder]))
    assert sorted(r.file.split("/")[-1] for r in results) == ["aapl.pdf", "notes.md"]
    assert all(r.status == "indexed" for r in results)


def test_a_scope_given_as_chunk_ids_ranks_as_the_metadata_filter_does(tmp_path, lib):
    """Store.query_ids names a small scope's chunks to Chroma (faster at 100k chunks); same ranking as the filter."""
    other = make_pdf(tmp_path / "other.pdf", ["Widget revenue grew in every region this quarter."] * 3)
    list(lib.ingest([AAPL_PDF, other]))
    chunks = lib.catalog.ready_chunks("default")
    assert sorted(chunks.values())[0] >= 1 and len(chunks) == 2
    aapl = next(d.doc_id for d in lib.documents() if d.file == AAPL_PDF.name)
    vector = lib.embedder.embed(["iPhone net sales in the three months"])[0]
    by_filter = lib.store.query_ids(vector, 10, [aapl])
    by_ids = lib.store.query_ids(vector, 10, [aapl], chunks)
    assert by_ids == by_filter and len(by_ids) == 10 and all(c.startswith(aapl + ":") for c in by_ids)
    assert len(lib.store.query_ids(vector, 500, [aapl], chunks)) == chunks[aapl]  # k above the scope's size


def test_a_scoped_search_reads_a_documents_vectors_from_chroma_once_and_forgets_them_with_it(tmp_path, lib,
                                                                                            monkeypatch):
    import rag.store

    other = make_pdf(tmp_path / "other.pdf", ["Widget revenue grew in every region this quarter."] * 3)
    list(lib.ingest([AAPL_PDF, other]))
    chunks = lib.catalog.ready_chunks("default")
    aapl = next(d.doc_id for d in lib.documents() if d.file == AAPL_PDF.name)
    widget = next(d for d in chunks if d != aapl)
    reads = []
    real_get = lib.store._col.get
    monkeypatch.setattr(lib.store._col, "get", lambda **kw: reads.append(kw["ids"]) or real_get(**kw))
    vectors = lib.embedder.embed(["iPhone net sales in the three months", "widget revenue by region"])
    first = [lib.store.query_ids(v, 10, [aapl], chunks) for v in vectors]
    again = [lib.store.query_ids(v, 10, [aapl], chunks) for v in vectors]
    assert first == again and len(reads) == 1 and len(reads[0]) == chunks[aapl]  # one read, then memory
    both = lib.store.query_ids(vectors[1], 3, [aapl, widget], chunks)
    assert both[0].startswith(widget + ":") and len(reads) == 2  # only the new document was read
    # exact: the same order as a brute-force pass over Chroma's own vectors
    got = real_get(ids=[f"{aapl}:{i}" for i in range(chunks[aapl])], include=["embeddings"])
    m = np.asarray(got["embeddings"], dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    assert first[0] == [got["ids"][i] for i in np.argsort(-(m @ np.asarray(vectors[0], np.float32)))[:10]]
    # forgetting the document drops its vectors; a bounded cache drops the least recently used
    lib.forget(AAPL_PDF.name)
    assert aapl not in lib.store._vectors and widget in lib.store._vectors
    monkeypatch.setattr(rag.store, "VECTOR_CACHE_CHUNKS", 1)
    list(lib.ingest([AAPL_PDF]))
    lib.store.query_ids(vectors[0], 3, [aapl], lib.catalog.ready_chunks("default"))
    assert list(lib.store._vectors) == [aapl]


def test_a_scoped_search_over_a_document_missing_chunks_searches_what_is_there_and_keeps_nothing(lib):
    (r,) = list(lib.ingest([AAPL_PDF]))
    lib.store._col.delete(ids=[f"{r.doc_id}:0", f"{r.doc_id}:1"])  # as if a repair were under way
    vector = lib.embedder.embed(["iPhone net sales"])[0]
    found = lib.store.query_ids(vector, 500, [r.doc_id], {r.doc_id: r.chunks})
    assert len(found) == r.chunks - 2 and f"{r.doc_id}:0" not in found and not lib.store._vectors
    lib.store._col.delete(where={"doc_id": r.doc_id})
    assert lib.store.query_ids(vector, 5, [r.doc_id], {r.doc_id: r.chunks}) == []


def test_a_document_without_pages_gives_several_passages(tmp_path, embedder):
    """Pages are the unit of a paginated document; a text file is one 'page', so its passages stay the unit: a
    question finds more than one passage of it."""
    text = tmp_path / "notes.txt"
    text.write_text("\n\n".join(f"Paragraph {i}: the widget budget for region {i} was {i * 100} thousand dollars, "
                                "approved by the board after a long review of the plan." * 3 for i in range(1, 9)),
                    encoding="utf-8")
    lib = open_library(tmp_path / "data", embedder, chunk_size=60, chunk_overlap=0)
    (r,) = list(lib.ingest([text]))
    assert r.status == "indexed" and r.pages == 1 and r.chunks > 4
    hits = lib.search("What was the widget budget for the regions?", k=3)
    assert len(hits) == 3 and {h.file for h in hits} == {"notes.txt"} and len({h.chunk_id for h in hits}) == 3
