"""Cut pages into overlapping chunks that remember their page and offset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.load import Page

__all__ = ["Chunk", "split_pages", "SEPARATORS"]

# Paragraphs, lines, then sentence ends in Chinese and Western text, then words.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    text: str
    page: int  # 1-based page the chunk starts on
    start: int  # character offset in that page's text
    index: int  # position of the chunk in its document


def split_pages(pages: Iterable[Page], *, chunk_size: int = 1000, chunk_overlap: int = 150) -> list[Chunk]:
    """Split each page's text; chunks never mix pages, so every chunk has one page to cite."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=SEPARATORS,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    for page in pages:
        if not page.text.strip():
            continue
        for doc in splitter.create_documents([page.text]):
            chunks.append(Chunk(doc.page_content, page.number, doc.metadata["start_index"], len(chunks)))
    return chunks
