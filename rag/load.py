"""Read a document into 1-based pages of text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from rag.errors import DocumentLoadError

__all__ = ["Page", "LoadedDocument", "load_document", "SUPPORTED_SUFFIXES", "describe_bytes"]

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".markdown")

_MAGIC = [
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


@dataclass(frozen=True)
class LoadedDocument:
    path: Path
    pages: tuple[Page, ...]

    @property
    def text_pages(self) -> int:
        return sum(1 for p in self.pages if p.text.strip())


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


def load_document(path: Path, *, max_bytes: int | None = None) -> LoadedDocument:
    """Read a PDF, TXT or Markdown file; raise DocumentLoadError with the fix on anything else."""
    path = Path(path)
    if not path.is_file():
        raise DocumentLoadError(path, "no such file.", "Check the path.")
    size = path.stat().st_size
    if size == 0:
        raise DocumentLoadError(path, "the file is empty (0 bytes).")
    if max_bytes is not None and size > max_bytes:
        raise DocumentLoadError(
            path,
            f"the file is {size / 2**20:.0f} MB, over the limit of {max_bytes / 2**20:.0f} MB.",
            "Raise the setting max_file_mb to index it.",
        )
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        pages = _read_pdf(path)
    elif suffix in SUPPORTED_SUFFIXES:
        pages = _read_text(path)
    else:
        raise DocumentLoadError(
            path, f"'{suffix or 'no extension'}' files are not supported.", "Hearth reads PDF, TXT and Markdown."
        )
    if not any(p.text.strip() for p in pages):
        if suffix == ".pdf":
            raise DocumentLoadError(
                path, "no page has a text layer (a scanned PDF?); it needs OCR.", "Run OCR on it and add it again."
            )
        raise DocumentLoadError(path, "the file holds only whitespace.")
    return LoadedDocument(path, tuple(pages))


def _read_pdf(path: Path) -> list[Page]:
    with path.open("rb") as f:
        head = f.read(1024)
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
        return [Page(i + 1, _page_text(doc, i)) for i in range(len(doc))]
    finally:
        doc.close()


def _page_text(doc: pdfium.PdfDocument, index: int) -> str:
    page = doc[index]
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
        finally:
            textpage.close()
    finally:
        page.close()


def _read_text(path: Path) -> list[Page]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentLoadError(path, f"this is not UTF-8 text: it looks like {describe_bytes(raw[:1024])}.",
                                "Save it as UTF-8 and add it again.") from None
    # A form feed separates pages in plain-text exports; keep them as pages.
    return [Page(i + 1, part) for i, part in enumerate(text.split("\f"))]
