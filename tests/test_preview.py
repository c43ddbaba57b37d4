"""Source previews: a real PDF ingested for real, its page rendered with the passage highlighted where its text
is; text formats marked in their text; the originals kept in the data dir; the API route under key rules."""

import io
import shutil
import time

import httpx
import pytest
from PIL import Image

from conftest import AAPL_PDF, make_pdf

SCALE = 1.5


def amber(image: Image.Image, box=None) -> int:
    """How many pixels (in box, if given) have the highlight's hue: paper, white or shaded, times HIGHLIGHT."""
    import numpy as np

    rgb = np.asarray((image.crop(box) if box else image).convert("RGB"), dtype=float)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 150) & (g > 0.75 * r) & (g < 0.92 * r) & (b < 0.4 * r)).sum())


def text_box(path, page: int, phrase: str) -> tuple[int, int, int, int]:
    """Pixels (at SCALE) of a phrase on a page, found by pdfium's own search (independently of Hearth's)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    pg = doc[page - 1]
    height = pg.get_height()
    textpage = pg.get_textpage()
    searcher = textpage.search(phrase)
    found = searcher.get_next()
    assert found, f"{phrase!r} is not on page {page}"
    start, count = found
    boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
    doc.close()
    left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return int(left * SCALE), int((height - top) * SCALE), int(right * SCALE) + 1, int((height - bottom) * SCALE) + 1


def test_find_spans_ignores_whitespace_and_reads_line_by_line():
    from app.services.highlight import find_spans, mark_text

    text = "Net sales:\r\nProducts $ 63,355\r\nServices 19,604\r\nTotal 82,959"
    assert find_spans(text, "Products $63,355\nServices  19,604") == [(12, 46)]
    # lines out of order (a passage read column by column) are each found; a missing line is left out
    assert find_spans(text, "Total 82,959\nnot on this page at all\nNet sales:") == [(48, 60), (0, 10)]
    assert find_spans(text, "   ") == [] and find_spans("", "x") == []
    html, marked = mark_text("Before <b> the passage after", "the passage")
    assert marked and html.endswith('Before &lt;b&gt; <mark>the passage</mark> after</div>')


def test_pdf_page_is_rendered_with_its_passage_highlighted_and_cached(hearth, tmp_path):
    list(hearth.ingest([AAPL_PDF]))
    hit = next(h for h in hearth.search("total net sales products services cost of sales", k=8)
               if h.page == h.page_end and "Total net sales" in h.text)
    first = hearth.previews.preview(hit.doc_id, hit.page, chunk=hit.chunk_id)
    assert first.media_type == "image/png" and first.marked and first.file == AAPL_PDF.name
    image = Image.open(io.BytesIO(first.content))
    assert image.format == "PNG"
    assert image.width / image.height == pytest.approx(612 / 792, abs=0.01)

    # highlighted where pdfium itself finds the passage's words, nowhere in the page's empty bottom margin
    phrase = "Total net sales"
    box = text_box(AAPL_PDF, hit.page, phrase)
    assert amber(image, box) > 0.3 * (box[2] - box[0]) * (box[3] - box[1]) * 0.5
    assert amber(image, (0, int(image.height * 0.93), image.width, image.height)) == 0
    raw = _raw_render(AAPL_PDF, hit.page)
    assert amber(raw) == 0 and amber(image) > 500  # the colour comes from the highlight alone

    # cached: identical bytes, faster; and from the file cache after a restart (a new Previews)
    t0 = time.perf_counter()
    again = hearth.previews.preview(hit.doc_id, hit.page, chunk=hit.chunk_id)
    cached_s = time.perf_counter() - t0
    assert again.content == first.content and cached_s < 0.05
    from app.services.preview import Previews

    assert Previews(hearth.documents).preview(hit.doc_id, hit.page, chunk=hit.chunk_id).content == first.content
    # the same passage given as text finds the same lines
    by_text = hearth.previews.preview(hit.doc_id, hit.page, text=hit.text)
    assert by_text.marked and amber(Image.open(io.BytesIO(by_text.content)), box) > 0


def _raw_render(path, page: int) -> Image.Image:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        return doc[page - 1].render(scale=SCALE).to_pil().convert("RGB")
    finally:
        doc.close()


def test_the_original_outlives_the_upload_and_goes_with_forget(hearth, tmp_path):
    from core.errors import NotFoundError

    upload = tmp_path / "upload-tmp"
    upload.mkdir()
    pdf = make_pdf(upload / "orbit.pdf", ["Orbit Corp revenue in 2023 was 512 million dollars.", "Second page."])
    [result] = hearth.ingest([pdf])
    shutil.rmtree(upload)  # what the page and the API do with an upload's folder
    copy = hearth.settings.data_dir / "files" / "default" / f"{result.doc_id}.pdf"
    assert copy.is_file()
    hit = hearth.search("Orbit Corp revenue", k=1)[0]
    found = hearth.previews.preview(hit.doc_id, 1, chunk=hit.chunk_id)
    image = Image.open(io.BytesIO(found.content))
    box = text_box(copy, 1, "Orbit Corp revenue")
    assert found.marked and amber(image, box) > 0
    assert amber(image, (0, image.height // 2, image.width, image.height)) == 0  # the empty lower half
    cached = list((hearth.settings.data_dir / "cache" / "previews" / "default").glob(f"{result.doc_id}-*"))
    assert cached

    hearth.documents.forget(result.doc_id)
    assert not copy.exists() and not any(p.exists() for p in cached)
    with pytest.raises(NotFoundError, match="no document"):
        hearth.previews.preview(hit.doc_id, 1, chunk=hit.chunk_id)


def test_a_missing_original_is_named_with_the_fix(hearth, tmp_path):
    from core.errors import NotFoundError

    pdf = make_pdf(tmp_path / "gone.pdf", ["Gone report text."])
    [result] = hearth.ingest([pdf])
    (hearth.settings.data_dir / "files" / "default" / f"{result.doc_id}.pdf").unlink()
    assert hearth.previews.preview(result.doc_id, 1, text="Gone report").marked  # from the path it came from
    pdf.unlink()
    with pytest.raises(NotFoundError, match="gone.pdf: its original is gone.*add the file again"):
        hearth.previews.preview(result.doc_id, 1, text="Gone report text")
    with pytest.raises(NotFoundError, match="no page 3"):
        hearth.previews.preview(result.doc_id, 3, text="x")


def test_a_text_document_shows_its_passage_marked(hearth, tmp_path):
    md = tmp_path / "notes.md"
    md.write_text("# Lighthouse\n\nThe keeper's cat is named Biscuit & sleeps on the lamp.\n\n"
                  + "Other notes about the weather. " * 40, encoding="utf-8")
    list(hearth.ingest([md]))
    hit = hearth.search("What is the keeper's cat named?", k=1)[0]
    found = hearth.previews.preview(hit.doc_id, hit.page, chunk=hit.chunk_id)
    html = found.content.decode()
    assert found.media_type == "text/html" and found.marked
    assert "<mark>" in html and "Biscuit &amp; sleeps" in html.split("<mark>")[1].split("</mark>")[0]


def test_api_preview_answers_a_key_for_its_own_collection_only(hearth, tmp_path):
    from app.web.server import launch

    store = hearth.api_keys
    _, key_a = store.create("team-a", rpm=0, tpm=0)
    _, key_b = store.create("team-b", rpm=0, tpm=0)
    hearth.settings = hearth.settings.model_copy(update={"port": 7895, "api_keys": "required"})
    demo = launch(hearth, block=False)
    try:
        url = demo.local_url.rstrip("/") + "/v1"
        pdf = make_pdf(tmp_path / "falcon.pdf", ["Project Falcon launches on 12 March 2031 from the north pad."])
        with pdf.open("rb") as f:
            r = httpx.post(f"{url}/collections/secret/documents", files={"file": (pdf.name, f, "application/pdf")},
                           headers={"Authorization": f"Bearer {key_a}"}, timeout=300)
        doc_id = r.json()["documents"][0]["doc_id"]
        hit = hearth.search("Falcon launch", k=1, collection=store.list()[0].collection("secret"))[0]
        path = f"{url}/collections/secret/documents/{doc_id}/pages/1/preview"
        ok = httpx.get(path, params={"chunk": hit.chunk_id}, headers={"Authorization": f"Bearer {key_a}"}, timeout=60)
        assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
        assert ok.headers["x-hearth-marked"] == "true" and Image.open(io.BytesIO(ok.content)).format == "PNG"
        other = httpx.get(path, params={"chunk": hit.chunk_id}, headers={"Authorization": f"Bearer {key_b}"},
                          timeout=60)
        assert other.status_code == 404 and other.json()["error"]["code"] == "collection_not_found"
        assert httpx.get(path, params={"chunk": hit.chunk_id}, timeout=60).status_code == 401
        chat = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {key_a}"}, timeout=600,
                          json={"model": "hearth-rag:secret", "max_tokens": 16,
                                "messages": [{"role": "user", "content": "When does Project Falcon launch?"}]})
        cite = chat.json()["citations"][0]  # a citation names its passage and where its page preview is
        assert cite["chunk_id"] == hit.chunk_id and cite["doc_id"] == doc_id
        assert cite["preview"] == f"/v1/collections/secret/documents/{doc_id}/pages/1/preview?chunk={hit.chunk_id}"
        shown = httpx.get(demo.local_url.rstrip("/") + cite["preview"], headers={"Authorization": f"Bearer {key_a}"},
                          timeout=60)
        assert shown.status_code == 200 and shown.headers["x-hearth-marked"] == "true"
        missing = httpx.get(f"{url}/collections/secret/documents/{doc_id}/pages/9/preview", params={"text": "x"},
                            headers={"Authorization": f"Bearer {key_a}"}, timeout=60)
        assert missing.status_code == 404 and "no page 9" in missing.json()["error"]["message"]
    finally:
        demo.close()


def test_a_visitor_previews_only_their_own_documents_and_drop_takes_the_copies(hearth, tmp_path):
    from core.errors import NotFoundError

    pdf = make_pdf(tmp_path / "mine.pdf", ["A visitor's private memo about the harbour budget."])
    [result] = hearth.ingest([pdf], collection="visitor-aaaa")
    assert hearth.previews.preview(result.doc_id, 1, text="harbour budget", collection="visitor-aaaa").marked
    with pytest.raises(NotFoundError, match="no document"):
        hearth.previews.preview(result.doc_id, 1, text="harbour budget", collection="visitor-bbbb")
    files = hearth.settings.data_dir / "files" / "visitor-aaaa"
    previews = hearth.settings.data_dir / "cache" / "previews" / "visitor-aaaa"
    assert files.is_dir() and previews.is_dir()
    assert hearth.documents.drop("visitor-aaaa") == 1
    assert not files.exists() and not previews.exists()


def test_a_scanned_page_is_highlighted_on_the_boxes_ocr_read_the_passage_in(hearth, tmp_path):
    from conftest import make_scanned_pdf

    [result] = hearth.ingest([make_scanned_pdf(tmp_path / "scan.pdf")])  # read by OCR (the setting ocr is on)
    assert result.ocr_pages == 1
    hit = hearth.search("quarterly revenue", k=1)[0]
    found = hearth.previews.preview(hit.doc_id, 1, chunk=hit.chunk_id)
    image = Image.open(io.BytesIO(found.content))
    assert found.media_type == "image/png" and found.marked and found.note == ""
    assert image.size == _raw_render(hearth.settings.data_dir / "files" / "default" / f"{hit.doc_id}.pdf", 1).size
    # make_scanned_pdf draws its line at (20, 80) of a 600 x 200 picture placed 10 mm in, 180 mm wide, on A4:
    # the line is about 16-91 mm across and 34-39 mm down the 210 x 297 mm page
    w, h = image.size
    line = (int(w * 14 / 210), int(h * 31 / 297), int(w * 100 / 210), int(h * 42 / 297))
    assert amber(image, line) > 500, "the line OCR read is not highlighted"
    assert amber(image) - amber(image, line) < 50, "the highlight strays off the line"
    plain = hearth.previews.preview(hit.doc_id, 1, text="Quarterly revenue")  # a bare text: no boxes to go by
    assert not plain.marked and "OCR" in plain.note


def test_a_visitors_previews_and_private_documents_go_when_the_session_ends(hearth, tmp_path):
    from app.web.session import end_session
    from app.web.sources import _image_file

    pdf = make_pdf(tmp_path / "memo.pdf", ["A visitor's memo about the harbour budget."])
    session = {"collection": "visitor-cccc", "private": True}
    [result] = hearth.ingest([pdf], collection="visitor-cccc")
    assert [d.doc_id for d in hearth.documents.library("visitor-cccc").documents()] == [result.doc_id]
    shown = _image_file(session, b"\x89PNG not really")
    assert shown.is_file()
    end_session(hearth, session)
    assert not shown.parent.exists()
    assert hearth.documents.library("visitor-cccc").documents() == []
    end_session(hearth, None)  # a page closed before its first handler ran
