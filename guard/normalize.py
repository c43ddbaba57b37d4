"""Views of a text for keyword matching, each with a map back to the original offsets.

text:    NFKC, casefolded, invisible characters dropped, every run of spaces and punctuation
         turned into one space. Latin terms match here as whole words.
nospace: the same with all spaces and punctuation removed, so 'b o m b', 'pipe-bomb' and
         '炸 * 弹' still match. Only CJK terms and long Latin phrases are matched here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["View", "views", "normalize_term", "nospace_term", "is_cjk", "is_separator"]

# Not category Cf but invisible all the same: Hangul fillers, braille blank, combining grapheme joiner...
_INVISIBLE_EXTRA = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x17B4, 0x17B5}


@dataclass(frozen=True)
class View:
    name: str
    text: str
    index: tuple[int, ...]  # index[i] = offset in the original text of view character i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covered by view characters [start, end)."""
        return self.index[start], self.index[end - 1] + 1


def _invisible(ch: str) -> bool:
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Cf", "Co", "Cn")
        or cp in _INVISIBLE_EXTRA
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0xE0000 <= cp <= 0xE007F  # tag characters
    )


def is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2FA1F or 0xF900 <= cp <= 0xFAFF


def is_separator(ch: str) -> bool:
    return not (ch.isalnum() or unicodedata.category(ch) in ("Mn", "Mc"))


def _normalized(text: str) -> tuple[list[str], list[int]]:
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if _invisible(ch):
            continue
        for n in unicodedata.normalize("NFKC", ch).casefold():
            if not _invisible(n):
                chars.append(n)
                index.append(i)
    return chars, index


def _text_view(chars: list[str], index: list[int]) -> View:
    out, idx = [], []
    for ch, i in zip(chars, index):
        if is_separator(ch):
            if out and out[-1] != " ":
                out.append(" ")
                idx.append(i)
        else:
            out.append(ch)
            idx.append(i)
    return View("text", "".join(out), tuple(idx))


def _nospace_view(chars: list[str], index: list[int]) -> View:
    kept = [(ch, i) for ch, i in zip(chars, index) if not is_separator(ch)]
    return View("nospace", "".join(ch for ch, _ in kept), tuple(i for _, i in kept))


def views(text: str) -> list[View]:
    chars, index = _normalized(text)
    return [_text_view(chars, index), _nospace_view(chars, index)]


def normalize_term(term: str) -> str:
    """A list term as it appears in the text view."""
    return _text_view(*_normalized(term)).text.strip()


def nospace_term(term: str) -> str:
    return _nospace_view(*_normalized(term)).text
