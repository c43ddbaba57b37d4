"""Offline OCR for pages that are only pictures: RapidOCR (PP-OCRv4, Chinese and English), models in the wheel."""

from __future__ import annotations

import json
import logging
import threading
from typing import Mapping, Sequence

from rag.document import OcrPage

__all__ = ["RapidOcr", "ocr_available", "read_boxes", "chunk_boxes"]

log = logging.getLogger(__name__)


def ocr_available() -> bool:
    """Whether RapidOCR is installed; looked up without importing it (it pulls in OpenCV and Shapely)."""
    import importlib.util

    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


class RapidOcr:
    """ocr(image) -> the page's text, one line per detected line, top to bottom, and where each piece is (OcrPage).
    Loads on first use."""

    def __init__(self, *, threads: int, lock: threading.Lock | threading.RLock | None = None,
                 min_score: float = 0.5):
        self.threads = threads
        self.lock = lock or threading.Lock()
        self.min_score = min_score
        self._engine = None

    def __call__(self, image) -> OcrPage:
        with self.lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)
                log.info("loaded OCR engine threads=%d", self.threads)
            result, _ = self._engine(image)
        height, width = image.shape[:2]
        return read_boxes(result or [], (width, height), self.min_score)


def read_boxes(result, size: tuple[int, int], min_score: float = 0.5) -> OcrPage:
    """RapidOCR's [(box, text, score)] on an image of size (width, height) -> the text in reading order (boxes on
    one line joined left to right, lines top to bottom) and where each box's text is in it, the box as fractions
    of the image (left, top, right, bottom)."""
    width, height = size
    items = sorted((min(p[1] for p in box), min(p[0] for p in box), max(p[1] for p in box), max(p[0] for p in box),
                    text.strip()) for box, text, score in result if float(score) >= min_score and text.strip())
    lines: list[list] = []
    for top, left, bottom, right, text in items:
        if lines and top < lines[-1][0] + (lines[-1][1] - lines[-1][0]) / 2:
            lines[-1][2].append((left, top, right, bottom, text))
        else:
            lines.append([top, bottom, [(left, top, right, bottom, text)]])
    out, boxes, pos = [], [], 0
    for _, _, parts in lines:
        for j, (left, top, right, bottom, text) in enumerate(sorted(parts)):
            pos += 1 if j else 0
            boxes.append((pos, pos + len(text), round(left / width, 4), round(top / height, 4),
                          round(right / width, 4), round(bottom / height, 4)))
            pos += len(text)
        out.append(" ".join(t for *_, t in sorted(parts)))
        pos += 1  # the newline
    return OcrPage("\n".join(out), tuple(boxes))


def chunk_boxes(boxes: Mapping[int, Sequence[tuple]], page: int, start: int, page_end: int, end: int) -> str:
    """The OCR boxes a passage covers (from `start` on its first page to `end` on its last), as JSON
    {"<page>": [[left, top, right, bottom], ...]} for the chunk's metadata; '' when it has none."""
    out = {}
    for p in range(page, (page_end or page) + 1):
        lo = start if p == page else 0
        hi = end if p == (page_end or page) and end else None
        found = [list(b[2:]) for b in boxes.get(p, ()) if b[1] > lo and (hi is None or b[0] < hi)]
        if found:
            out[str(p)] = found
    return json.dumps(out, separators=(",", ":")) if out else ""
