"""Cut a document into overlapping chunks that remember their pages, offsets, section and content hash.

Sizes are measured by a length function: tokens of the embedding model in Hearth (see rag.tokens), so a
chunk never exceeds what the model reads; characters by default. Pages are joined with a form feed, the
first separator tried, so a chunk ends at a page break when it can and only short pages share a chunk.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable, Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.digest import sha256_text
from rag.document import Page

__all__ = ["Chunk", "split_pages", "SEPARATORS", "content_hash"]

# Pages, paragraphs, lines, then sentence ends in Chinese and Western text, then words.
SEPARATORS = ["\f", "\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    text: str
    page: int  # 1-based page the chunk starts on
    start: int  # character offset in that page's text
    index: int  # position of the chunk in its document
    page_end: int = 0  # 1-based page the chunk ends on (== page unless it crosses pages)
    end: int = 0  # character offset just past the chunk's end, in page_end's text
    section: str = ""  # the section heading the chunk belongs to, where known
    sha: str = ""  # content hash of the text
    kind: str = ""  # the statement its page is (rag.statements: balance, income, cash_flows...), or ""
    part: str = ""  # "mdna" when its page is in Management's Discussion and Analysis

    @property
    def pages(self) -> str:
        return f"{self.page}" if self.page_end in (0, self.page) else f"{self.page}-{self.page_end}"


def content_hash(text: str) -> str:
    """The first 16 hex digits of the text's SHA-256: stored with every chunk, so it must never change."""
    return sha256_text(text)[:16]


def split_pages(pages: Iterable[Page], *, chunk_size: int = 1000, chunk_overlap: int = 150,
                length: Callable[[str], int] = len) -> list[Chunk]:
    """Split a document's pages into chunks of at most chunk_size (as `length` measures)."""
    pages = [p for p in pages]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2), length_function=length,
        separators=SEPARATORS, keep_separator="end", strip_whitespace=True,
    )
    # Page texts joined by form feeds (a form feed inside a page becomes a newline: same length).
    starts, parts, pos = [], [], 0
    for p in pages:
        starts.append(pos)
        parts.append(p.text.replace("\f", "\n"))
        pos += len(p.text) + 1
    text = "\f".join(parts)
    headings = sorted((starts[i] + off, h) for i, p in enumerate(pages) for off, h in p.headings)
    heading_at = [off for off, _ in headings]
    chunks: list[Chunk] = []
    begin = -1
    for piece in splitter.split_text(text):
        # Chunks come in order and each starts after the one before (langchain's own start_index assumes
        # the overlap is in characters, and loses chunks when it is in tokens).
        found = text.find(piece, begin + 1)
        begin = found if found >= 0 else begin + 1
        body = piece.replace("\f", "\n")
        finish = begin + len(body)
        first = bisect.bisect_right(starts, begin) - 1
        last = bisect.bisect_right(starts, finish - 1) - 1
        # The section the chunk starts in, or one that opens within its first quarter.
        h = bisect.bisect_right(heading_at, begin + len(body) // 4) - 1
        chunks.append(Chunk(
            body, pages[first].number, begin - starts[first], len(chunks),
            pages[last].number, finish - starts[last], headings[h][1] if h >= 0 else "", content_hash(body),
        ))
    return chunks
