import pytest

from conftest import AAPL_PDF, make_pdf, make_scanned_pdf
from rag import DocumentLoadError, load_document, split_pages
from rag.document import Page


def test_real_pdf_pages_are_one_based_and_hold_text():
    doc = load_document(AAPL_PDF)
    assert len(doc.pages) == 28
    assert [p.number for p in doc.pages] == list(range(1, 29))
    assert "Apple Inc." in doc.pages[0].text
    assert "\r" not in doc.pages[5].text


def test_generated_pdf_keeps_page_order(tmp_path):
    pdf = make_pdf(tmp_path / "three.pdf", ["alpha page", "beta page", "gamma page"])
    assert [p.text.strip() for p in load_document(pdf).pages] == ["alpha page", "beta page", "gamma page"]


@pytest.mark.parametrize("name,content,message", [
    ("empty.pdf", b"", "empty"),
    ("corrupt.pdf", b"%PDF-1.7\n1 0 obj garbage that is no pdf", "damaged"),
    ("word.pdf", b"PK\x03\x04\x14\x00\x06\x00 docx inside", "not a PDF: it looks like a ZIP archive"),
    ("page.pdf", b"<!DOCTYPE html><html><body>hi</body></html>", "not a PDF: it looks like an HTML page"),
    ("notes.docx", b"PK\x03\x04 docx", "damaged or not a .docx"),
    ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 ole", "encrypted or old-format (.doc)"),
    ("sheet.xlsx", b"PK\x03\x04 xlsx", "'.xlsx' files are not supported"),
    ("noise.txt", bytes(range(128, 256)) * 4, "in no encoding Hearth reads"),
    ("blank.txt", b"   \n\n  ", "only whitespace"),
])
def test_bad_files_get_a_clear_message_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentLoadError) as e:
        load_document(path)
    assert message in str(e.value)
    assert str(e.value).startswith(name + ":")


def test_encrypted_pdf_is_reported_as_such(tmp_path):
    pdf = make_pdf(tmp_path / "locked.pdf", ["secret numbers"], encrypt=True)
    with pytest.raises(DocumentLoadError, match="encrypted with a password"):
        load_document(pdf)


def test_scanned_pdf_needs_ocr(tmp_path):
    pdf = make_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(DocumentLoadError, match="needs OCR"):
        load_document(pdf)


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 5000)
    with pytest.raises(DocumentLoadError, match="max_file_mb"):
        load_document(path, max_bytes=1000)


def test_text_file_form_feeds_are_pages(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# One\nfirst\f# Two\nsecond", encoding="utf-8")
    assert [p.number for p in load_document(path).pages] == [1, 2]


def test_chunks_remember_page_and_offset():
    pages = [Page(1, "Short first page."), Page(2, ("Sentence number %d is here. " * 80) % tuple(range(80)))]
    chunks = split_pages(pages, chunk_size=300, chunk_overlap=50)
    assert chunks[0].page == 1 and chunks[0].text == "Short first page."
    assert all(c.page == 2 for c in chunks[1:]) and len(chunks) > 5
    for c in chunks:
        assert pages[c.page - 1].text[c.start:c.start + len(c.text)] == c.text
        assert len(c.text) <= 300
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # neighbouring chunks overlap
    assert chunks[2].start < chunks[1].start + len(chunks[1].text)


def test_chinese_splits_at_sentence_ends():
    text = "。".join(f"第{i}句话讲的是季度收入的变化情况" for i in range(60)) + "。"
    chunks = split_pages([Page(1, text)], chunk_size=100, chunk_overlap=0)
    assert len(chunks) > 5
    assert all(c.text.endswith("。") for c in chunks[:-1])
