"""Source previews: the page a passage comes from as a reader sees it, the passage highlighted, rendered here
from Hearth's copy of the original (app.services.documents) and never fetched from anywhere.

PDF pages come back as PNG (app.services.highlight); Word, HTML, Markdown and text documents as an HTML
snippet with the passage marked. Renders are kept in memory (LRU) and as files under the previews folder,
<collection>/<doc_id>-<page>-<passage hash>, removed with their document.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from app.services.documents import Documents
from app.services.highlight import SCALE, mark_text, render_pdf_page
from core.digest import sha256_text
from core.errors import InputError, NotFoundError
from rag.document import PDF_SUFFIXES
from rag.load import load_document

__all__ = ["Preview", "Previews"]

MEMORY = 64  # renders kept in memory (a PDF page is 100-200 KB)


@dataclass(frozen=True)
class Preview:
    file: str
    page: int
    media_type: str  # image/png for a PDF page, text/html for the other formats
    content: bytes
    marked: bool  # the passage was found on the page and highlighted
    note: str = ""  # why it was not, for the reader

    @property
    def suffix(self) -> str:
        return ".png" if self.media_type == "image/png" else ".html"


class Previews:
    """preview(doc_id, page, chunk=... or text=...) for the documents of every collection."""

    def __init__(self, documents: Documents, *, scale: float = SCALE, memory: int = MEMORY):
        self.documents = documents
        self.scale = scale
        self.memory = memory
        self._cache: OrderedDict[str, Preview] = OrderedDict()
        self._lock = threading.Lock()

    def preview(self, doc_id: str, page: int, *, chunk: str | None = None, text: str | None = None,
                collection: str | None = None) -> Preview:
        """The page with the passage (a chunk id like '<doc_id>:3', or its text) marked; NotFoundError names
        what is missing, InputError what does not fit."""
        collection = collection or self.documents.default
        record = self.documents.catalog.get(collection, doc_id)
        if record is None or record.status != "ready":
            raise NotFoundError(f"no document {doc_id!r} in collection {collection!r}; list them with "
                                "`hearth list` or GET /v1/collections.")
        if page < 1 or page > record.pages:
            raise NotFoundError(f"{record.file} has pages 1 to {record.pages}; there is no page {page}.")
        passage, span, ocr_boxes = self._passage(record, page, chunk, text)
        key = f"{doc_id}-{page}-{sha256_text(f'{self.scale}|{span}|{passage}')[:16]}"
        found = self._recall(collection, key)
        if found is not None:
            return found
        preview = self._render(record, page, passage, span, ocr_boxes)
        self._remember(collection, key, preview)
        return preview

    def _passage(self, record, page: int, chunk: str | None, text: str | None) -> tuple[str, tuple | None, list]:
        """The passage's text, its span in the page's text when a chunk on one page gives it, and where OCR read
        it on this page when the page is a scan (rag.ocr.chunk_boxes)."""
        if not chunk:
            return (text or "").strip(), None, []
        chunk_id = chunk if ":" in chunk else f"{record.doc_id}:{chunk}"
        if chunk_id.split(":")[0] != record.doc_id:
            raise InputError(f"chunk {chunk!r} is not a passage of {record.file} ({record.doc_id}).")
        found = self.documents.library(record.collection).store.get([chunk_id])
        if chunk_id not in found:
            raise NotFoundError(f"{record.file} has no passage {chunk_id!r}; its chunks are "
                                f"{record.doc_id}:0 to {record.doc_id}:{record.chunks - 1}.")
        passage, meta, _ = found[chunk_id]
        first, last = int(meta.get("page", 1)), int(meta.get("page_end") or meta.get("page", 1))
        if not first <= page <= last:
            raise InputError(f"passage {chunk_id} of {record.file} is on page {first}"
                             f"{f'-{last}' if last != first else ''}, not page {page}.")
        one_page = first == last and meta.get("end")
        ocr_boxes = json.loads(meta["ocr_boxes"]).get(str(page), []) if meta.get("ocr_boxes") else []
        return passage, (int(meta.get("start") or 0), int(meta["end"])) if one_page else None, ocr_boxes

    def _render(self, record, page: int, passage: str, span: tuple[int, int] | None, ocr_boxes=()) -> Preview:
        path = self.documents.original(record)
        if path.suffix.lower() in PDF_SUFFIXES:
            png, boxes = render_pdf_page(path, page, passage, scale=self.scale, ocr_boxes=ocr_boxes)
            note = "" if boxes or not passage else ("the passage was not found in the page's text layer, nor by OCR "
                                                    "(a scan indexed before OCR kept its boxes: add it again); the "
                                                    "page is shown as is.")
            return Preview(record.file, page, "image/png", png, bool(boxes), note)
        pages = load_document(path).pages
        page_text = pages[page - 1].text if page <= len(pages) else ""
        if span is not None and "".join(page_text[span[0]:span[1]].split()) != "".join(passage.split()):
            span = None  # the original was read differently than when indexed: find the passage instead
        snippet, marked = mark_text(page_text, passage, span)
        note = "" if marked or not passage else "the passage was not found on this page; its beginning is shown."
        return Preview(record.file, page, "text/html", snippet.encode("utf-8"), marked, note)

    # -- the cache -------------------------------------------------------------------------

    def _recall(self, collection: str, key: str) -> Preview | None:
        with self._lock:
            found = self._cache.get(f"{collection}/{key}")
            if found is not None:
                self._cache.move_to_end(f"{collection}/{key}")
                return found
        folder = self.documents.previews_folder(collection)
        for suffix, media in ((".png", "image/png"), (".html", "text/html")):
            path = folder / f"{key}{suffix}" if folder else None
            if path is not None and path.is_file():
                doc_id, page = key.split("-")[:2]
                preview = Preview(self._file(collection, doc_id), int(page), media, path.read_bytes(), True)
                self._hold(f"{collection}/{key}", preview)
                return preview
        return None

    def _file(self, collection: str, doc_id: str) -> str:
        record = self.documents.catalog.get(collection, doc_id)
        return record.file if record else doc_id

    def _remember(self, collection: str, key: str, preview: Preview) -> None:
        self._hold(f"{collection}/{key}", preview)
        folder = self.documents.previews_folder(collection)
        if folder is not None and preview.marked:  # unmarked renders are cheap to redo and carry a note
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f"{key}.part"
            part.write_bytes(preview.content)
            part.replace(folder / f"{key}{preview.suffix}")

    def _hold(self, key: str, preview: Preview) -> None:
        with self._lock:
            self._cache[key] = preview
            self._cache.move_to_end(key)
            while len(self._cache) > self.memory:
                self._cache.popitem(last=False)
