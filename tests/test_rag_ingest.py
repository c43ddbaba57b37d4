"""Ingest that can be trusted: chunk metadata, token-sized chunks, every format, OCR, bad files, BM25 in step
with Chroma, and a real kill in the middle of a document."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, make_pdf, make_scanned_pdf
from rag import Catalog, Library, Limits, RapidOcr, Store, TokenCounter, load_document, ocr_available, open_chroma
from rag.document import Page
from rag.split import content_hash, split_pages

FACTS = [
    "The Lisbon office leases 40 desks and opens in spring.",
    "Freight costs for the Rotterdam warehouse fell by 12 percent.",
    "The Osaka subsidiary hired nine engineers for the sensor line.",
]


def open_library(data_dir, embedder, collection="default", **kw) -> Library:
    return Library(catalog=Catalog(data_dir / "catalog.sqlite3"), store=Store(open_chroma(data_dir / "chroma"), collection),
                   embedder=embedder, collection=collection, **kw)


@pytest.fixture
def lib(tmp_path, embedder, minilm_path):
    tokens = TokenCounter(minilm_path)
    return open_library(tmp_path / "data", embedder, chunk_size=200, chunk_overlap=20, tokens=tokens,
                        max_tokens=tokens.max_tokens)


def filler(topic: str, n: int) -> str:
    return " ".join(f"Paragraph {i} of the {topic} notes repeats routine matters without figures." for i in range(n))


# -- chunks -----------------------------------------------------------------------------------

def test_chunks_fit_the_embedder_and_know_their_pages_offsets_section_and_hash(minilm_path):
    tokens = TokenCounter(minilm_path)
    assert tokens.max_tokens == 254  # all-MiniLM-L6-v2 reads 256 word pieces, [CLS] and [SEP] included
    pages = [Page(1, "RISK FACTORS\n" + filler("risk", 30), ((0, "RISK FACTORS"),)),
             Page(2, filler("liquidity", 30)), Page(3, "Short closing page.")]
    chunks = split_pages(pages, chunk_size=120, chunk_overlap=20, length=tokens)
    assert len(chunks) > 6 and all(tokens(c.text) <= 120 for c in chunks)
    for c in chunks:
        first, last = pages[c.page - 1].text, pages[c.page_end - 1].text
        if c.page == c.page_end:
            assert first[c.start:c.end] == c.text
        else:  # a chunk across a page break starts and ends where it says
            assert c.text.startswith(first[c.start:c.start + 20]) and c.text.endswith(last[:c.end][-20:])
        assert c.sha == content_hash(c.text) and c.section == "RISK FACTORS"
    assert {c.page for c in chunks} == {1, 2, 3} and chunks[-1].text.endswith("Short closing page.")
    # neighbours overlap by some tokens
    assert chunks[2].start < chunks[1].end and chunks[2].page == chunks[1].page == 1


def test_chinese_text_splits_on_chinese_sentence_ends_in_tokens(minilm_path):
    tokens = TokenCounter(minilm_path)
    text = "".join(f"第{i}季度公司的营业收入较上年同期增长了百分之{i}，主要来自云服务。" for i in range(40))
    chunks = split_pages([Page(1, text)], chunk_size=60, chunk_overlap=0, length=tokens)
    assert len(chunks) > 4 and all(tokens(c.text) <= 60 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks[:-1])


# -- formats ----------------------------------------------------------------------------------

def test_word_document_pages_headings_and_tables(tmp_path):
    import docx
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    d.core_properties.title = "Board pack"
    d.add_heading("Revenue", level=1)
    d.add_paragraph("Revenue grew in every region.")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate([("Region", "Sales"), ("EMEA", "1,200")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    d.add_heading("Outlook", level=1)
    d.add_paragraph("We expect flat margins.")
    d.save(tmp_path / "pack.docx")
    doc = load_document(tmp_path / "pack.docx")
    assert doc.title == "Board pack" and len(doc.pages) == 2
    assert "EMEA | 1,200" in doc.pages[0].text and [h for _, h in doc.pages[0].headings] == ["Revenue"]
    assert "flat margins" in doc.pages[1].text and [h for _, h in doc.pages[1].headings] == ["Outlook"]


def test_html_and_markdown_keep_headings_and_visible_text_only(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Q3 memo</title><style>p{color:red}</style></head><body><h2>Cash</h2>"
        "<p>Cash rose.</p><script>alert('x')</script><table><tr><th>Year</th><th>Cash</th></tr>"
        "<tr><td>2023</td><td>5.1</td></tr></table></body></html>", encoding="utf-8")
    doc = load_document(tmp_path / "page.html")
    page = doc.pages[0]
    assert doc.title == "Q3 memo" and "alert" not in page.text and "color" not in page.text
    assert "2023 | 5.1" in page.text and [h for _, h in page.headings] == ["Cash"]
    (tmp_path / "notes.md").write_text("# Plan\nintro\n## Hiring\nnine engineers", encoding="utf-8")
    md = load_document(tmp_path / "notes.md").pages[0]
    assert [h for _, h in md.headings] == ["Plan", "Hiring"]
    assert [md.text[o:].split("\n")[0] for o, _ in md.headings] == ["# Plan", "## Hiring"]


@pytest.mark.skipif(not ocr_available(), reason="rapidocr-onnxruntime is not installed")
def test_scanned_pdf_is_read_by_offline_ocr(tmp_path):
    doc = load_document(make_scanned_pdf(tmp_path / "scan.pdf"), ocr=RapidOcr(threads=1))
    assert "revenue was 42 million" in doc.pages[0].text.lower()
    assert doc.ocr_pages == 1 and "OCR" in doc.warnings[0]


@pytest.mark.skipif(not ocr_available(), reason="rapidocr-onnxruntime is not installed")
def test_ocr_reads_chinese_and_english_and_the_page_is_found_by_a_chinese_question(tmp_path, embedder):
    """tests/data/scan_zh_en.png: a Chinese line and an English line rendered with WenQuanYi Micro Hei (the picture
    is checked in, so no CJK font is needed here)."""
    scan = make_scanned_pdf(tmp_path / "扫描件.pdf", ROOT / "tests" / "data" / "scan_zh_en.png")
    doc = load_document(scan, ocr=RapidOcr(threads=1))
    text = doc.pages[0].text
    assert "营业收入" in text and "四千二百万元" in text
    assert "revenue was 42 million" in text.lower()
    data = tmp_path / "data"
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "default"),
                  embedder=embedder, collection="default", ocr=RapidOcr(threads=1))
    (r,) = list(lib.ingest([scan]))
    assert (r.status, r.ocr_pages) == ("indexed", 1)
    hit = lib.search("第三季度的营业收入是多少?", k=1, dense=False)[0]
    assert (hit.file, hit.page) == ("扫描件.pdf", 1) and "营业收入" in hit.text


def test_page_limits_are_settings_with_clear_messages(tmp_path):
    pdf = make_pdf(tmp_path / "long.pdf", ["one", "two", "three"])
    with pytest.raises(Exception, match="3 pages, over the limit of 2.*max_pages"):
        load_document(pdf, limits=Limits(max_pages=2))
    scan = make_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(Exception, match="need OCR, over the limit.*ocr_max_pages"):
        load_document(scan, limits=Limits(ocr_max_pages=0), ocr=lambda image: "never called")


# -- the library ------------------------------------------------------------------------------

def test_every_bad_file_fails_alone_while_the_batch_is_indexed(tmp_path, lib):
    good = make_pdf(tmp_path / "good.pdf", [FACTS[0]])
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n1 0 obj garbage")
    encrypted = make_pdf(tmp_path / "locked.pdf", ["secret"], encrypt=True)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    scanned = make_scanned_pdf(tmp_path / "scan.pdf")  # the library has no OCR engine here
    mislabelled = tmp_path / "slides.pdf"
    mislabelled.write_bytes(b"PK\x03\x04\x14\x00 pptx")
    notes = tmp_path / "notes.txt"
    notes.write_text(FACTS[1], encoding="utf-8")
    results = {os.path.basename(r.file): r for r in lib.ingest([corrupt, good, encrypted, empty, scanned, mislabelled,
                                                                  notes])}
    expected = {"corrupt.pdf": "damaged", "locked.pdf": "encrypted", "empty.txt": "empty", "scan.pdf": "needs OCR",
                "slides.pdf": "not a PDF: it looks like a ZIP archive"}
    for name, words in expected.items():
        assert results[name].status == "failed" and words in results[name].error and results[name].error.startswith(name)
    assert results["good.pdf"].status == results["notes.txt"].status == "indexed"
    assert sorted(d.file for d in lib.documents()) == ["good.pdf", "notes.txt"]


def test_hits_carry_the_right_page_and_metadata(tmp_path, lib):
    pages = [filler("general", 12) + " " + FACTS[0], filler("logistics", 12) + " " + FACTS[1],
             filler("staffing", 12) + " " + FACTS[2]]
    (r,) = lib.ingest([make_pdf(tmp_path / "ops.pdf", pages)])
    assert r.pages == 3
    for page, question in enumerate(["How many desks does the Lisbon office lease?",
                                     "By how much did Rotterdam freight costs fall?",
                                     "How many engineers did the Osaka subsidiary hire?"], 1):
        hit = lib.search(question, k=1)[0]
        assert hit.file == "ops.pdf" and hit.page == page, (question, hit)
        assert hit.content_hash and hit.end > hit.start >= 0 and hit.page_end >= hit.page
        assert hit.dense_rank is not None or hit.lexical_rank is not None


def test_chinese_question_finds_chinese_text_with_the_english_embedder(tmp_path, lib):
    zh = tmp_path / "年报.txt"
    zh.write_text("公司第三季度营业收入为八十亿元，同比增长百分之十二。\n\n研发投入主要用于芯片设计。", encoding="utf-8")
    en = make_pdf(tmp_path / "memo.pdf", [FACTS[0], FACTS[1]])
    list(lib.ingest([en, zh]))
    hit = lib.search("第三季度营业收入是多少？", k=1)[0]
    assert hit.file == "年报.txt" and "八十亿元" in hit.text
    assert hit.lexical_rank == 1
    assert lib.search("芯片设计", k=1, lexical=True, dense=False)[0].file == "年报.txt"


def test_unchanged_reingest_adds_nothing_and_forget_leaves_no_chunk_nor_bm25_entry(tmp_path, lib):
    memo = make_pdf(tmp_path / "memo.pdf", [FACTS[0], FACTS[2]])
    notes = tmp_path / "notes.md"
    notes.write_text("# Logistics\n" + FACTS[1], encoding="utf-8")
    first = {os.path.basename(r.file): r for r in lib.ingest([memo, notes])}
    chunks, lexical = lib.store.count(), lib.catalog.lexical_rows("default", first["memo.pdf"].doc_id)
    assert lexical == first["memo.pdf"].chunks > 0
    again = list(lib.ingest([memo, notes]))
    assert {r.status for r in again} == {"unchanged"} and lib.store.count() == chunks
    assert lib.catalog.lexical_rows("default", first["memo.pdf"].doc_id) == lexical

    lib.forget("memo.pdf")
    doc_id = first["memo.pdf"].doc_id
    assert lib.store.chunk_count(doc_id) == 0 and lib.catalog.lexical_rows("default", doc_id) == 0
    assert lib.store.document_ids() == {first["notes.md"].doc_id}
    assert all(h.file == "notes.md" for h in lib.search("Lisbon office desks", k=5, dense=False))
    assert all(h.file == "notes.md" for h in lib.search("Lisbon office desks", k=5))
    # reopened from disk, the BM25 index holds what Chroma holds
    again = open_library(tmp_path / "data", lib.embedder)
    assert [h.file for h in again.search("Lisbon desks Osaka engineers", k=5, dense=False)] in ([], ["notes.md"])


def test_search_scoped_to_documents_uses_both_rankings(tmp_path, lib):
    a = make_pdf(tmp_path / "a.pdf", [FACTS[0]])
    b = make_pdf(tmp_path / "b.pdf", [FACTS[0].replace("Lisbon", "Porto")])
    ids = {os.path.basename(r.file): r.doc_id for r in lib.ingest([a, b])}
    for mode in ({}, {"dense": False}, {"lexical": False}):
        hits = lib.search("Lisbon office desks", k=5, doc_ids=[ids["b.pdf"]], **mode)
        assert {h.file for h in hits} == {"b.pdf"}, mode


KILL_SCRIPT = textwrap.dedent("""
    import functools, hashlib, os, sys, time
    from pathlib import Path
    import rag.library
    from rag import Catalog, Embedder, Library, Store, open_chroma
    from rag.writer import ChunkWriter

    data, model, small, big = map(Path, sys.argv[1:5])
    # small batches, so that part of the big document is in Chroma when the kill comes
    rag.library.EMBED_BATCH = 8
    rag.library.ChunkWriter = functools.partial(ChunkWriter, batch=8)
    store = Store(open_chroma(data / "chroma"), "default")
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=store, embedder=Embedder(model, threads=1),
                  collection="default", chunk_size=60, chunk_overlap=0)
    big_id = hashlib.sha256(big.read_bytes()).hexdigest()[:16]

    def progress(file, done, total):
        if file == big.name and done >= 16:
            while store.chunk_count(big_id) == 0:
                time.sleep(0.05)
            print("MID", big_id, done, total, flush=True)
            time.sleep(600)

    for r in lib.ingest([small, big], progress):
        print("DONE", r.file, r.status, flush=True)
""")


def test_kill_during_ingest_leaves_each_document_whole_or_absent(tmp_path, embedder, minilm_path):
    data = tmp_path / "data"
    small = make_pdf(tmp_path / "small.pdf", [FACTS[0]])
    big = make_pdf(tmp_path / "big.pdf", [filler(f"topic {i}", 10) for i in range(8)])
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(data), str(minilm_path), str(small), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.split())
            if line.startswith("MID"):
                break
        assert lines and lines[-1][0] == "MID", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup runs: as a power cut or the OOM killer
    finally:
        proc.kill()
        proc.wait()
    big_id = lines[-1][1]
    assert ["DONE", str(small), "indexed"] in lines

    # The killed process left the big document half-written: pending in the catalog, some chunks in Chroma.
    raw = Catalog(data / "catalog.sqlite3")
    assert [d.doc_id for d in raw.documents("default", status="pending")] == [big_id]
    assert Store(open_chroma(data / "chroma"), "default").chunk_count(big_id) > 0
    raw.close()

    lib = open_library(data, embedder)  # reopening repairs
    assert [d.file for d in lib.documents()] == ["small.pdf"]
    assert lib.catalog.documents("default", status="pending") == []
    assert lib.store.chunk_count(big_id) == 0 and lib.catalog.lexical_rows("default", big_id) == 0
    assert lib.store.document_ids() == {d.doc_id for d in lib.documents()}
    assert lib.search("Lisbon office desks", k=1)[0].file == "small.pdf"
    (again,) = [r for r in lib.ingest([big])]  # and the document can be added again
    assert again.status == "indexed" and lib.store.chunk_count(big_id) == again.chunks


def test_hearth_sizes_chunks_in_embedder_tokens_and_applies_limits(settings, embedder, tmp_path):
    from app.hearth import Hearth
    from rag.library import HEADER_TOKENS

    h = Hearth(settings.model_copy(update={"max_pages": 2, "retrieval": "lexical"}), embedder=embedder)
    try:
        lib = h.documents.library()
        assert lib.chunk_size == 254 - HEADER_TOKENS and lib.tokens is h.token_counter and lib.limits.max_pages == 2
        results = {os.path.basename(r.file): r for r in h.ingest([make_pdf(tmp_path / "long.pdf", ["a", "b", "c"]),
                                                                   make_pdf(tmp_path / "ok.pdf", [FACTS[2]])])}
        assert "max_pages" in results["long.pdf"].error and results["ok.pdf"].status == "indexed"
        (hit,) = h.search("Osaka engineers", k=3)
        assert hit.file == "ok.pdf" and hit.dense_rank is None and hit.lexical_rank == 1
        assert lib.search("Osaka engineers", k=3)[0].dense_rank is None  # the chat pipeline's path too
    finally:
        h.close()
