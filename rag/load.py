"""Read a document into 1-based pages of text: PDF, DOCX, HTML, Markdown and plain text, each by its reader
(rag.pdf, rag.formats) after the checks every file goes through.

Every refusal is a DocumentLoadError that names the file, says what is wrong and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import DocumentLoadError
from rag import formats, pdf
from rag.document import (DOCX_SUFFIXES, FORMATS, HTML_SUFFIXES, MARKDOWN_SUFFIXES, PDF_SUFFIXES, SUPPORTED_SUFFIXES,
                          Limits, LoadedDocument, Ocr)

__all__ = ["load_document"]


def load_document(path: Path, *, max_bytes: int | None = None, limits: Limits | None = None,
                  ocr: Ocr | None = None) -> LoadedDocument:
    """Read one supported file; raise DocumentLoadError with the fix on anything else."""
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
