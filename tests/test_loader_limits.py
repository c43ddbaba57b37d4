"""Each document is read within a time and a memory ceiling (rag/bounded.py; settings max_read_seconds and
max_read_mb): a flate bomb, a 2,000-page PDF and deeply nested HTML are refused alone with a message naming the
setting, the reader comes back for the next file, and this process never dies."""

from __future__ import annotations

import zlib

import pytest

from conftest import make_pdf
from core.errors import DocumentLoadError
from rag.bounded import read_document
from rag.document import Limits


def flate_bomb(path, megabytes: int):
    """A one-page PDF whose content stream is 1 MB-ish of deflate that inflates to `megabytes` MB of text."""
    deflate = zlib.compressobj(9)
    block = b"(" + b"A" * (2**20 - 8) + b") Tj\n"
    stream = deflate.compress(b"BT /F1 12 Tf 72 720 Td\n") + b"".join(deflate.compress(block) for _ in range(megabytes))
    stream += deflate.compress(b"ET\n") + deflate.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def many_pages(path, seed, pages: int):
    """A real PDF of `pages` pages, each a copy of the seed's first page (pdfium imports them)."""
    import pypdfium2 as pdfium

    src, pdf = pdfium.PdfDocument(seed), pdfium.PdfDocument.new()
    pdf.import_pages(src, [0] * pages)
    pdf.save(path)
    pdf.close()
    src.close()
    return path


def test_a_flate_bomb_is_refused_at_the_memory_ceiling(tmp_path):
    bomb = flate_bomb(tmp_path / "bomb.pdf", 400)
    assert bomb.stat().st_size < 2 * 2**20
    with pytest.raises(DocumentLoadError) as e:
        read_document(bomb, limits=Limits(max_seconds=120, max_memory_mb=256))
    assert "bomb.pdf" in str(e.value) and "max_read_mb" in str(e.value)
    # the reader comes back for the next file
    ok = make_pdf(tmp_path / "ok.pdf", ["The keeper's cat is named Biscuit."])
    assert "Biscuit" in read_document(ok, limits=Limits(max_seconds=120, max_memory_mb=256)).pages[0].text


def test_a_2000_page_pdf_is_refused_at_the_time_ceiling_and_read_under_a_wider_one(tmp_path):
    seed = make_pdf(tmp_path / "seed.pdf", ["Page text of a long report, with many words on it. " * 60])
    long = many_pages(tmp_path / "long.pdf", seed, 2000)  # about 2 s to read on an idle 2-core machine
    with pytest.raises(DocumentLoadError, match="longer than 0.1 s.*max_read_seconds"):
        read_document(long, limits=Limits(max_seconds=0.1, max_memory_mb=1024))
    doc = read_document(long, limits=Limits(max_seconds=600, max_memory_mb=1024))
    assert len(doc.pages) == 2000 and "long report" in doc.pages[1999].text
    with pytest.raises(DocumentLoadError, match="2000 pages, over the limit of 1000.*max_pages"):
        read_document(long, limits=Limits(max_pages=1000, max_seconds=600, max_memory_mb=1024))


def test_deeply_nested_html_is_read_in_one_pass_and_refused_past_the_time_ceiling(tmp_path):
    """Regression: blocks were marked with bs4's insert_before/insert_after, which walk each block's subtree, so
    HTML nested 100,000 deep took about ten minutes; it is now one pass (about 2 s here), well inside the ceiling."""
    deep = tmp_path / "deep.html"
    deep.write_text("<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000 + "</body></html>")
    assert read_document(deep, limits=Limits(max_seconds=120, max_memory_mb=2048)).pages[0].text == "deep"
    with pytest.raises(DocumentLoadError, match="deep.html: reading it took longer than 0.1 s.*max_read_seconds"):
        read_document(deep, limits=Limits(max_seconds=0.1, max_memory_mb=2048))
    shallow = tmp_path / "shallow.html"
    shallow.write_text("<html><body>" + "<div>" * 50 + "Biscuit" + "</div>" * 50 + "</body></html>")
    assert read_document(shallow, limits=Limits(max_seconds=60, max_memory_mb=1024)).pages[0].text == "Biscuit"


def test_an_ingest_goes_on_past_a_bomb_with_the_settings_ceilings(hearth, tmp_path):
    hearth.settings = hearth.settings.model_copy(update={"max_read_mb": 256, "max_read_seconds": 120})
    bomb = flate_bomb(tmp_path / "bomb.pdf", 400)
    ok = make_pdf(tmp_path / "ok.pdf", ["The keeper's cat is named Biscuit."])
    results = {r.file.split("/")[-1]: r for r in hearth.ingest([bomb, ok], collection="ceilings")}
    assert results["bomb.pdf"].status == "failed" and "max_read_mb" in results["bomb.pdf"].error
    assert results["ok.pdf"].status == "indexed"
