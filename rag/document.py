"""What a read document is: pages of text with their headings, the limits on reading one, the supported file
types, and the helpers every reader shares (what a file really is, which lines are headings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["Page", "OcrPage", "LoadedDocument", "Limits", "Ocr", "describe_bytes", "plain_headings", "SUPPORTED_SUFFIXES",
           "PDF_SUFFIXES", "DOCX_SUFFIXES", "HTML_SUFFIXES", "MARKDOWN_SUFFIXES", "TEXT_SUFFIXES", "FORMATS"]

PDF_SUFFIXES = (".pdf",)
DOCX_SUFFIXES = (".docx",)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", ".text")
SUPPORTED_SUFFIXES = PDF_SUFFIXES + DOCX_SUFFIXES + HTML_SUFFIXES + MARKDOWN_SUFFIXES + TEXT_SUFFIXES
FORMATS = "PDF, Word (.docx), HTML, Markdown and plain text"

_MAGIC = [
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (for example a Word or Excel file)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
]

# Headings in text with no markup: "PART I", "Item 2. Management's Discussion", "3.1 Revenue", "RISK FACTORS".
_PLAIN_HEADING = re.compile(
    r"^[ \t]*((?:PART|Part)\s+[IVX]+\b[^\n]{0,80}|(?:ITEM|Item)\s+\d+[A-Z]?\.[^\n]{0,100}"
    r"|\d{1,2}(?:\.\d{1,2})*\.?[ \t]+[A-Z][^\n.:;]{2,70}|[A-Z][A-Z0-9 ,&'’()/-]{3,78}[A-Z)])[ \t]*$", re.M)
_NUMERIC = re.compile(r"^[\d\s.,$%()/-]+$")


@dataclass(frozen=True)
class Page:
    number: int  # 1-based physical page
    text: str
    headings: tuple[tuple[int, str], ...] = ()  # (offset in text, heading) of section headings on this page
    ocr: bool = False  # the text was read from the page's picture
    # OCR only: where each read piece of text is, (start, end) in text and (left, top, right, bottom) as fractions
    # of the page's width and height, so a preview can highlight a passage on a scan
    boxes: tuple[tuple[int, int, float, float, float, float], ...] = ()


@dataclass(frozen=True)
class OcrPage:
    """What OCR read on a page: its text in reading order and the boxes of its pieces (as Page.boxes)."""
    text: str
    boxes: tuple[tuple[int, int, float, float, float, float], ...] = ()


@dataclass(frozen=True)
class LoadedDocument:
    path: Path
    pages: tuple[Page, ...]
    title: str = ""
    warnings: tuple[str, ...] = ()
    encoding: str = ""  # what a text file was read as (utf-8, utf-16, gb18030, ...); "" for other formats

    @property
    def ocr_pages(self) -> int:
        return sum(1 for p in self.pages if p.ocr)


@dataclass(frozen=True)
class Limits:
    """What protects the machine from one document: bytes, pages, pages read by OCR, and the time and memory that
    reading it may take."""

    max_bytes: int | None = None
    max_pages: int | None = None
    ocr_max_pages: int = 50
    max_seconds: float | None = None  # reading one document (rag.bounded); None: no ceiling, read in this process
    max_memory_mb: int | None = None  # memory that reading one document may add (rag.bounded, Linux)


# An OCR engine: picture (RGB numpy array) -> lines of text. None means OCR is off.
Ocr = Callable[[object], "str | OcrPage"]  # an image (H x W x 3 array) -> its text, with boxes when known


def describe_bytes(head: bytes) -> str:
    """Say what a file that is not what its name claims probably is."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    try:
        head.decode("utf-8")
        return "plain text"
    except UnicodeDecodeError:
        return "binary data of an unknown kind"


def plain_headings(text: str) -> tuple[tuple[int, str], ...]:
    """Lines that look like section headings in text without markup (a PDF page, a .txt file)."""
    out = []
    for m in _PLAIN_HEADING.finditer(text):
        line = " ".join(m.group(1).split())
        if len(line.split()) >= 2 or line.startswith(("PART", "Part", "ITEM", "Item")):
            if not _NUMERIC.match(line) and not line[-1].isdigit():  # "Item 2. ... 14" is a contents line
                out.append((m.start(1), line))
    return tuple(out)
