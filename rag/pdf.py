"""PDF pages through pypdfium2: text in reading order (two-column pages read column by column), tables
as the rows pdfium lays out, and pages without a text layer read by OCR when an engine is given."""

from __future__ import annotations

import logging
import statistics
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from core.errors import DocumentLoadError
from rag.document import Limits, LoadedDocument, Ocr, OcrPage, Page, describe_bytes, plain_headings

__all__ = ["read_pdf", "column_gutter"]

log = logging.getLogger(__name__)

OCR_SCALE = 2.0  # render at 144 dpi: small print stays readable, a page stays a few megapixels


def read_pdf(path: Path, head: bytes, *, limits: Limits, ocr: Ocr | None) -> LoadedDocument:
    if b"%PDF-" not in head:
        raise DocumentLoadError(path, f"this is not a PDF: it looks like {describe_bytes(head)}.",
                                "Rename it with the right extension or export it as PDF.")
    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise DocumentLoadError(path, "the PDF is encrypted with a password.",
                                    "Remove the password (print to PDF) and add it again.") from e
        raise DocumentLoadError(path, f"the PDF is damaged and cannot be read ({str(e).rstrip('.')}).",
                                "Re-download or re-export it.") from e
    try:
        if limits.max_pages is not None and len(doc) > limits.max_pages:
            raise DocumentLoadError(path, f"it has {len(doc)} pages, over the limit of {limits.max_pages}.",
                                    "Raise the setting max_pages to index it, or split the file.")
        pages, pictures, damaged = [], [], []
        for i in range(len(doc)):
            try:
                text, has_picture = _read_page(doc[i])
            except pdfium.PdfiumError:  # one damaged page fails alone; the others are read
                text, has_picture = "", False
                damaged.append(i)
            pages.append(Page(i + 1, text, plain_headings(text)))
            if not text.strip() and has_picture:
                pictures.append(i)
        warnings = []
        if pictures:
            pages, warnings = _ocr_pages(path, doc, pages, pictures, limits, ocr)
        if damaged:
            if len(damaged) == len(pages):
                raise DocumentLoadError(path, "the PDF is damaged: none of its pages can be read.",
                                        "Re-download or re-export it.")
            warnings = [*warnings, f"{len(damaged)} page(s) are damaged and were not read (pages {_ranges(damaged)})."]
        title = (doc.get_metadata_dict().get("Title") or "").strip()
    finally:
        doc.close()
    return LoadedDocument(path, tuple(pages), title, tuple(warnings))


def _read_page(page: pdfium.PdfPage) -> tuple[str, bool]:
    """The page's text in reading order, and whether it holds a picture (a scan, when there is no text)."""
    try:
        textpage = page.get_textpage()
        try:
            text = _ordered_text(textpage, page.get_width())
        finally:
            textpage.close()
        has_picture = not text.strip() and any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
        return text.replace("\r\n", "\n").replace("\r", "\n"), has_picture
    finally:
        page.close()


def _ordered_text(textpage: pdfium.PdfTextPage, width: float) -> str:
    n = textpage.count_rects()
    rects = [textpage.get_rect(i) for i in range(n)]  # (left, bottom, right, top), PDF points
    gutter = column_gutter(rects, width)
    if gutter is None:
        return textpage.get_text_bounded()
    # Lines that cross the gutter (titles, full-width paragraphs) cut the page into bands; each band is
    # read left column, then right column.
    bands: list[list[float]] = []  # [bottom, top] of full-width lines, merged, from the top of the page down
    for b, t in sorted(((b, t) for lft, b, r, t in rects if lft < gutter < r), key=lambda bt: -bt[1]):
        if bands and t >= bands[-1][0]:
            bands[-1][0] = min(bands[-1][0], b)
        else:
            bands.append([b, t])
    top = max(t for _, _, _, t in rects) + 1
    parts = []
    for b, t in bands + [[-1.0, -1.0]]:
        parts.append(textpage.get_text_bounded(0, t, gutter, top))
        parts.append(textpage.get_text_bounded(gutter, t, width, top))
        if b >= 0:
            parts.append(textpage.get_text_bounded(0, b, width, t))
        top = b
    return "\n".join(p.strip("\r\n") for p in parts if p.strip())


def column_gutter(rects: list[tuple[float, float, float, float]], width: float) -> float | None:
    """The x of the gap between two columns of running text, or None for a one-column page.

    Tables also have gaps between columns, so both sides must hold lines about as wide as their column.
    """
    if len(rects) < 8 or width <= 0:
        return None
    best = None
    for step in range(30, 71, 2):
        x = width * step / 100
        crossing = sum(1 for lft, _, r, _ in rects if lft < x < r)
        if best is None or crossing < best[1]:
            best = (x, crossing)
    x, crossing = best
    left = [r for r in rects if r[2] <= x]
    right = [r for r in rects if r[0] >= x]
    if crossing > max(1, len(rects) // 20) or min(len(left), len(right)) < len(rects) * 0.25:
        return None
    left_edge, right_edge = min(r[0] for r in left), max(r[2] for r in right)
    wide = lambda rs, span: statistics.median(r[2] - r[0] for r in rs) >= 0.6 * span  # noqa: E731
    if not (wide(left, x - left_edge) and wide(right, right_edge - x)):
        return None
    overlap = min(max(r[3] for r in left), max(r[3] for r in right)) - max(min(r[1] for r in left),
                                                                        min(r[1] for r in right))
    return x if overlap > 0 else None


def _ocr_pages(path: Path, doc: pdfium.PdfDocument, pages: list[Page], pictures: list[int], limits: Limits,
               ocr: Ocr | None) -> tuple[list[Page], list[str]]:
    """Read the pages that are only pictures; say what was left unread and why."""
    scanned_all = len(pictures) == len(pages) or not any(p.text.strip() for p in pages)
    if ocr is None:
        if scanned_all:
            return pages, []  # load_document reports "needs OCR"
        return pages, [f"{len(pictures)} page(s) have no text layer and were not read (pages "
                       f"{_ranges(pictures)}); turn on the setting ocr to read them."]
    if len(pictures) > limits.ocr_max_pages:
        raise DocumentLoadError(path, f"{len(pictures)} pages have no text layer and need OCR, over the limit of "
                                f"{limits.ocr_max_pages} pages per document.",
                                "Raise the setting ocr_max_pages to read them (OCR takes a few seconds a page).")
    for i in pictures:
        page = doc[i]
        try:
            image = page.render(scale=OCR_SCALE).to_pil().convert("RGB")
        finally:
            page.close()
        import numpy as np

        found = ocr(np.asarray(image))
        text, boxes = (found.text, found.boxes) if isinstance(found, OcrPage) else (found, ())
        pages[i] = Page(i + 1, text, plain_headings(text), ocr=True, boxes=boxes)
        log.info("ocr file=%s page=%d chars=%d", path.name, i + 1, len(text))
    if not any(p.text.strip() for p in pages):
        raise DocumentLoadError(path, "no page has a text layer and OCR found no text in its pictures.",
                                "Check the scan is legible, or export the document with its text.")
    return pages, [f"{len(pictures)} page(s) were read by OCR (pages {_ranges(pictures)}); check numbers "
                   "against the page."]


def _ranges(indexes: list[int]) -> str:
    """0-based indexes -> '1-3, 7' in 1-based pages."""
    out, start = [], None
    for a, b in zip(indexes, indexes[1:] + [None]):
        start = a if start is None else start
        if b != a + 1:
            out.append(f"{start + 1}" if start == a else f"{start + 1}-{a + 1}")
            start = None
    return ", ".join(out)
