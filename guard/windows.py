"""Overlapping windows over a text too long for the guard's context: every character is checked."""

from __future__ import annotations

__all__ = ["split_windows"]

_BREAKS = ("\n", "。", "！", "？", ". ", "! ", "? ", "; ", ", ", " ")


def split_windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) spans of at most `size` characters covering the whole text, each sharing at least
    `overlap` characters with the one before (so a phrase cut by one boundary is whole in a neighbour).
    A window ends at a line, sentence or word break in its last fifth when there is one."""
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError(f"window size {size} and overlap {overlap} do not make windows")
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, len(text))
        if end < len(text):
            floor = start + max(size * 4 // 5, overlap + 1)
            cut = max(text.rfind(b, floor, end) for b in _BREAKS)
            if cut >= floor:
                end = cut + 1
        spans.append((start, end))
        if end >= len(text):
            return spans
        start = end - overlap
