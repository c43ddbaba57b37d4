"""A passage where the reader sees it: a PDF page rendered by pypdfium2 with the passage's lines highlighted,
or a text document's passage marked in the text around it.

Hearth's text of a page (rag.pdf) may differ from pdfium's own in spacing and order (two columns are read
one after the other), so a passage is found ignoring whitespace: as one piece, or else line by line.
"""

from __future__ import annotations

import ctypes
import html
import io
from pathlib import Path
from typing import Sequence

import pypdfium2 as pdfium
import pypdfium2.raw as raw
from PIL import Image, ImageChops, ImageDraw

from core.errors import DocumentLoadError, NotFoundError

__all__ = ["find_spans", "render_pdf_page", "mark_text", "HIGHLIGHT", "SCALE"]

SCALE = 1.5  # 108 dpi: a 10-Q's tables stay readable, a letter page is 918 x 1188 pixels
HIGHLIGHT = (255, 214, 64)  # multiplied onto the page: white paper turns amber, black text stays black
CONTEXT = 700  # characters of a text document shown before and after its passage
_SHORT = 6  # a line with fewer characters is marked only right after the line before it (numbers in tables)
_IGNORED = {"\x02", "\ufffe", "\u00ad"}  # pdfium's hyphen and soft hyphen markers


def squeeze(text: str) -> tuple[str, list[int]]:
    """The text without whitespace, and where each kept character was in it."""
    kept = [(i, c) for i, c in enumerate(text) if not c.isspace() and c not in _IGNORED]
    return "".join(c for _, c in kept), [i for i, _ in kept]


def find_spans(text: str, passage: str) -> list[tuple[int, int]]:
    """[start, end) spans of text that hold the passage, whitespace aside: the whole passage when it is there
    in one piece, else each of its lines found in order (short lines only next to the line before)."""
    flat, where = squeeze(text)
    whole, _ = squeeze(passage)
    if not whole or not flat:
        return []
    at = flat.find(whole)
    if at >= 0:
        return [(where[at], where[at + len(whole) - 1] + 1)]
    spans, pos = [], 0
    for line in passage.splitlines():
        needle, _ = squeeze(line)
        if not needle:
            continue
        at = flat.find(needle, pos)
        if len(needle) < _SHORT:
            at = at if 0 <= at - pos <= 40 else -1
        elif at < 0:
            at = flat.find(needle)
        if at >= 0:
            spans.append((where[at], where[at + len(needle) - 1] + 1))
            pos = at + len(needle)
    return spans


def render_pdf_page(path: Path, number: int, passage: str, *, scale: float = SCALE,
                    ocr_boxes: Sequence[Sequence[float]] = ()) -> tuple[bytes, int]:
    """The page as PNG with the passage's lines highlighted, and how many boxes were drawn. ocr_boxes: where OCR
    read the passage on a scanned page (left, top, right, bottom as fractions of the page), used when the page's
    text layer does not hold it."""
    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        raise DocumentLoadError(path, f"the PDF cannot be opened to show its page ({e}).",
                                "Add the file again.") from e
    try:
        if not 1 <= number <= len(doc):
            raise NotFoundError(f"{path.name} has pages 1 to {len(doc)}; there is no page {number}.")
        page = doc[number - 1]
        try:
            image = page.render(scale=scale).to_pil().convert("RGB")
            boxes = _passage_boxes(page, passage, image.size) if passage.strip() else []
            if not boxes and passage.strip():
                w, h = image.size
                boxes = [(int(x0 * w) - 2, int(y0 * h) - 2, int(x1 * w) + 2, int(y1 * h) + 2)
                         for x0, y0, x1, y1 in ocr_boxes]
        finally:
            page.close()
    finally:
        doc.close()
    if boxes:
        layer = Image.new("RGB", image.size, "white")
        draw = ImageDraw.Draw(layer)
        for box in boxes:
            draw.rectangle(box, fill=HIGHLIGHT)
        image = ImageChops.multiply(image, layer)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=3)
    return out.getvalue(), len(boxes)


def _passage_boxes(page, passage: str, size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (left, top, right, bottom) of the passage's text lines on the rendered page."""
    textpage = page.get_textpage()
    try:
        n = textpage.count_chars()
        text = textpage.get_text_range()
        if len(text) != n:  # pdfium left out or added characters: read them one by one, index for index
            text = "".join(chr(raw.FPDFText_GetUnicode(textpage.raw, i) or 32) for i in range(n))
        rects = []
        for start, end in find_spans(text, passage):
            for i in range(textpage.count_rects(start, end - start)):
                rects.append(textpage.get_rect(i))
    finally:
        textpage.close()
    return [_to_pixels(page, rect, size) for rect in rects]


def _to_pixels(page, rect, size: tuple[int, int], pad: int = 2) -> tuple[int, int, int, int]:
    """A rectangle in PDF points (left, bottom, right, top) on the page rendered at `size` (rotation and
    crop box as pdfium applies them)."""
    left, bottom, right, top = rect
    xs, ys = [], []
    for x, y in ((left, bottom), (right, top)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
        xs.append(dx.value)
        ys.append(dy.value)
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def mark_text(text: str, passage: str, span: tuple[int, int] | None = None) -> tuple[str, bool]:
    """An HTML snippet of the passage marked in the text around it (span: where it is, when known), and
    whether it was found; a passage not found shows the page's beginning, unmarked."""
    spans = [span] if span else find_spans(text, passage)
    if not spans:
        body = html.escape(text[:2 * CONTEXT]) + ("…" if len(text) > 2 * CONTEXT else "")
        return f'<div class="hearth-passage" style="white-space:pre-wrap">{body}</div>', False
    start, end = spans[0][0], spans[-1][1]
    lo, hi = max(0, start - CONTEXT), min(len(text), end + CONTEXT)
    body = (("…" if lo else "") + html.escape(text[lo:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:hi]) + ("…" if hi < len(text) else ""))
    return f'<div class="hearth-passage" style="white-space:pre-wrap">{body}</div>', True
