"""Offline OCR for pages that are only pictures: RapidOCR (PP-OCRv4, Chinese and English), models in the wheel."""

from __future__ import annotations

import logging
import threading

__all__ = ["RapidOcr", "ocr_available"]

log = logging.getLogger(__name__)


def ocr_available() -> bool:
    """Whether RapidOCR is installed; looked up without importing it (it pulls in OpenCV and Shapely)."""
    import importlib.util

    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


class RapidOcr:
    """ocr(image) -> the page's text, one line per detected line, top to bottom. Loads on first use."""

    def __init__(self, *, threads: int, lock: threading.Lock | threading.RLock | None = None,
                 min_score: float = 0.5):
        self.threads = threads
        self.lock = lock or threading.Lock()
        self.min_score = min_score
        self._engine = None

    def __call__(self, image) -> str:
        with self.lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)
                log.info("loaded OCR engine threads=%d", self.threads)
            result, _ = self._engine(image)
        return lines_from_boxes(result or [], self.min_score)


def lines_from_boxes(result, min_score: float = 0.5) -> str:
    """RapidOCR's [(box, text, score)] -> text in reading order: boxes on one line joined left to right."""
    items = sorted(((min(p[1] for p in box), min(p[0] for p in box), max(p[1] for p in box), text)
                    for box, text, score in result if float(score) >= min_score and text.strip()))
    lines: list[list] = []
    for top, left, bottom, text in items:
        if lines and top < lines[-1][0] + (lines[-1][1] - lines[-1][0]) / 2:
            lines[-1][2].append((left, text))
        else:
            lines.append([top, bottom, [(left, text)]])
    return "\n".join(" ".join(t for _, t in sorted(parts)) for _, _, parts in lines)
