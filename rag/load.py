"""Read a document into 1-based pages of text: PDF, DOCX, HTML, Markdown and plain text.

Every refusal is a DocumentLoadError that names the file, says what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rag.errors import DocumentLoadError

__all__ = ["Page", "LoadedDocument", "load_document", "SUPPORTED_SUFFIXES", "describe_bytes", "Limits"]

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


@dataclass(frozen=True)
class Page:
    number: int  # 1-based physical page
    text: str
    headings: tuple[tuple[int, str], ...] = ()  # (offset in text, heading) of section headings on this page
    ocr: bool = False  # the text was read from the page's picture


@dataclass(frozen=True)
class LoadedDocument:
    path: Path
    pages: tuple[Page, ...]
    title: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def text_pages(self) -> int:
        return sum(1 for p in self.pages if p.text.strip())

    @property
    def ocr_pages(self) -> int:
        return sum(1 for p in self.pages if p.ocr)


@dataclass(frozen=True)
class Limits:
    """What protects the machine from one document: bytes, pages, and pages read by OCR."""

    max_bytes: int | None = None
    max_pages: int | None = None
    ocr_max_pages: int = 50


# An OCR engine: picture (RGB numpy array) -> lines of text. None means OCR is off.
Ocr = Callable[[object], str]


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


def load_document(path: Path, *, max_bytes: int | None = None, limits: Limits | None = None,
                  ocr: Ocr | None = None) -> LoadedDocument:
    """Read one supported file; raise DocumentLoadError with the fix on anything else."""
    from rag import formats, pdf

    path = Path(path)
    limits = limits or Limits(max_bytes=max_bytes)
    if not path.is_file():
        raise DocumentLoadError(path, "no such file.", "Check the path.")
    size = path.stat().st_size
    if size == 0:
        raise DocumentLoadError(path, "the file is empty (0 bytes).")
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise DocumentLoadError(
            path, f"the file is {size / 2**20:.0f} MB, over the limit of {limits.max_bytes / 2**20:.0f} MB.",
            "Raise the setting max_file_mb to index it.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentLoadError(path, f"'{suffix or 'no extension'}' files are not supported.",
                                f"Hearth reads {FORMATS}.")
    with path.open("rb") as f:
        head = f.read(1024)
    if suffix in PDF_SUFFIXES:
        doc = pdf.read_pdf(path, head, limits=limits, ocr=ocr)
    elif suffix in DOCX_SUFFIXES:
        doc = formats.read_docx(path, head)
    elif suffix in HTML_SUFFIXES:
        doc = formats.read_html(path, head)
    else:
        doc = formats.read_text(path, markdown=suffix in MARKDOWN_SUFFIXES)
    if limits.max_pages is not None and len(doc.pages) > limits.max_pages:
        raise DocumentLoadError(path, f"it has {len(doc.pages)} pages, over the limit of {limits.max_pages}.",
                                "Raise the setting max_pages to index it, or split the file.")
    if not any(p.text.strip() for p in doc.pages):
        if suffix in PDF_SUFFIXES:
            raise DocumentLoadError(path, "no page has a text layer (a scanned PDF?); it needs OCR.",
                                    "Turn on the setting ocr, or run OCR on it and add it again.")
        raise DocumentLoadError(path, "the file holds no text, only whitespace or markup.")
    return doc
