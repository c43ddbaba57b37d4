"""Normalised views of a text for keyword matching, each with a map back to the original offsets.

Every view starts from the same per-character folding: NFKC, casefold, invisible and format
characters dropped (zero-width, bidi, tag characters, variation selectors, Hangul fillers...),
full-width forms made half-width (NFKC does this), traditional Chinese made simplified (OpenCC's
t2s character table). Then:

text:    runs of spaces and punctuation become one space. Latin terms match here as whole words.
compact: spaces and punctuation removed, repeated characters collapsed ('b o m b', 'pipe-bomb',
         '炸 * 弹', 'boooomb', '炸炸弹弹'). Matched for CJK terms and, with extra checks, Latin ones.
leet:    the compact view after mapping leetspeak (0→o, 4→a, $→s...), confusable letters of other
         scripts (Cyrillic 'а', Greek 'ο'...) and accented or combining-mark letters to plain Latin.

The work is done on numpy arrays of code points through lookup tables built once per process,
so a scan costs a few vector operations per view instead of a Python loop per character.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["View", "views", "quick_view", "quick_leet_view", "quick_codes", "quick_codes_index", "to_str", "has_leet_symbols",
           "leet_marked", "term_forms", "is_cjk", "is_latin_word", "tables", "LEET_SYMBOLS"]

# Code points from here on are dropped: tag characters, variation selectors supplement, private use.
_LIMIT = 0x32000
_DEL = -1
_EXP = -2  # folds to several characters; see Tables.expansions
_STOP = -3  # where the compiled scanner stops to look closer (Tables.quick_leet_stops)
# Not category Cf but invisible all the same: Hangul fillers, braille blank, combining grapheme joiner...
_INVISIBLE_EXTRA = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x17B4, 0x17B5, 0x180E}
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F), (0x30000, 0x3134F))
# Leetspeak: characters people put in place of letters. Applied in the leet view only.
LEET = {"0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g",
        "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l", "¢": "c", "ß": "b"}
LEET_SYMBOLS = "@$!|+€£¢"  # separators in the text views, letters in the leet view


def _invisible(cp: int) -> bool:
    return (unicodedata.category(chr(cp)) in ("Cf", "Co", "Cn", "Cs") or cp in _INVISIBLE_EXTRA
            or 0xFE00 <= cp <= 0xFE0F or 0xE0000 <= cp <= 0xE01EF)


def is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(a <= cp <= b for a, b in _CJK_RANGES)


def is_latin_word(term: str) -> bool:
    """A term that starts or ends with a letter or digit of an alphabetic script (word boundaries apply)."""
    return bool(term) and not is_cjk(term[0])


class Tables:
    """The per-character lookup tables, built once (about 0.3 s) and shared by every filter."""

    def __init__(self):
        t2s = _t2s_map()
        fold = np.empty(_LIMIT, dtype=np.int32)
        self.expansions: dict[int, np.ndarray] = {}
        for cp in range(_LIMIT):
            if _invisible(cp):
                fold[cp] = _DEL
                continue
            out = [ord(t2s.get(c, c)) for c in unicodedata.normalize("NFKC", chr(cp)).casefold()]
            out = [o for o in out if o < _LIMIT and not _invisible(o)]
            if not out:
                fold[cp] = _DEL
            elif len(out) == 1:
                fold[cp] = out[0]
            else:
                fold[cp] = _EXP
                self.expansions[cp] = np.array(out, dtype=np.int32)
        self.fold = fold
        chars = [chr(cp) for cp in range(_LIMIT)]
        self.sep = np.array([not (c.isalnum() or unicodedata.category(c) in ("Mn", "Mc")) for c in chars])
        self.sep[[ord(c) for c in "_"]] = True
        self.leet = _leet_table(chars)
        self.leet_sep = self.sep[np.maximum(self.leet, 0)] & (self.leet != _DEL)
        self.leet_sep[self.leet == _DEL] = False
        # The prefilter view in one lookup: fold, drop separators (leet symbols too), then leet letters.
        symbols = np.zeros(_LIMIT, dtype=bool)
        symbols[[ord(c) for c in LEET_SYMBOLS]] = True
        folded_ok = fold >= 0
        plain = np.where(folded_ok, fold, 0)
        quick = np.where(self.sep[plain] | symbols[plain], _DEL, self.leet[plain])
        self.quick = np.where(fold == _EXP, _EXP, np.where(folded_ok, quick, _DEL)).astype(np.int32)
        leet = np.where(self.leet_sep[plain], _DEL, self.leet[plain])
        self.quick_leet = np.where(fold == _EXP, _EXP, np.where(folded_ok, leet, _DEL)).astype(np.int32)
        # Characters that fold to several: what is left of them in each quick view.
        self.quick_exp: dict[int, dict[int, np.ndarray]] = {}
        for table in (self.quick, self.quick_leet):
            rest = {}
            for cp, chars in self.expansions.items():
                kept = table[chars]
                kept = kept[kept >= 0]
                if len(kept) == 0:
                    table[cp] = _DEL
                elif len(kept) == 1:
                    table[cp] = kept[0]
                else:
                    rest[cp] = kept
            self.quick_exp[id(table)] = rest
        # The same, as text, for the compiled scanner (guard/prefilter.py Prefixes.windows_text).
        self.quick_exp_text = {id(table): {cp: _to_str(kept) for cp, kept in self.quick_exp[id(table)].items()}
                               for table in (self.quick, self.quick_leet)}
        # Where the two quick views can differ: characters they read differently, and those that
        # fold to several in the leet one (guard/keywords.py reads the leet view only around them).
        self.leet_marks = (self.quick != self.quick_leet) | (self.quick_leet == _EXP)
        # For the compiled scanner: the quick leet table with those characters _STOP (guard/_fastscan.c near).
        self.quick_leet_stops = np.where(self.leet_marks, _STOP, self.quick_leet).astype(np.int32)
        # has_leet_symbols: the marked characters as a bitmap (the compiled gates) and a regex (Python).
        self.leet_bitmap = np.packbits(self.leet_marks, bitorder="little").tobytes()
        marked = np.flatnonzero(self.leet_marks)
        self.leet_ascii = "".join(chr(c) for c in marked if c < 128)
        self.leet_re = re.compile("[" + "".join(re.escape(chr(c)) for c in marked) + "]")


def _t2s_map() -> dict[str, str]:
    """Traditional -> simplified, one character to one character (OpenCC's t2s conversion)."""
    import opencc

    chars = [chr(cp) for a, b in _CJK_RANGES[:4] for cp in range(a, min(b, 0x2A6DF) + 1)]
    out = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(out) != len(chars):  # OpenCC joined or split a line: fall back to converting one by one
        out = [opencc.OpenCC("t2s").convert(c) for c in chars]
    return {a: b for a, b in zip(chars, out) if a != b and len(b) == 1}


def _confusables() -> dict[str, str]:
    """Letters of other scripts that look like a Latin letter or digit (Unicode confusables.txt)."""
    import confusable_homoglyphs

    data = json.loads((Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text("utf-8"))
    out = {}
    for ch, entries in data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        for e in entries:
            glyph = e["c"]
            if len(glyph) == 1 and glyph.isascii() and glyph.isalnum():
                out[ch] = glyph.lower()
                break
    return out


# A Latin letter by name, however drawn: "LATIN SMALL LETTER O WITH STROKE", "LATIN LETTER SMALL CAPITAL B",
# "NEGATIVE SQUARED LATIN CAPITAL LETTER B", "REGIONAL INDICATOR SYMBOL LETTER B" (not "LATIN SMALL LETTER AE").
_LATIN_NAMED = re.compile(r"(?:^|\b)(?:LATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL )?|REGIONAL INDICATOR SYMBOL "
                          r"LETTER )([A-Z])(?: WITH .*)?$")


def _leet_table(chars: list[str]) -> np.ndarray:
    table = np.arange(_LIMIT, dtype=np.int32)
    for ch, latin in _confusables().items():
        folded = unicodedata.normalize("NFKC", ch).casefold()
        if len(folded) == 1 and ord(folded) < _LIMIT:
            table[ord(folded)] = ord(latin)
    for cp, ch in enumerate(chars):
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me"):
            table[cp] = _DEL  # combining marks: Zalgo text
        elif (cat.startswith("L") or cat == "So") and not ch.isascii() and not is_cjk(ch):
            base = unicodedata.normalize("NFKD", ch)[0]
            if base.isascii() and base.isalpha():
                table[cp] = ord(base.lower())  # é -> e
            elif table[cp] == cp and (named := _LATIN_NAMED.search(unicodedata.name(ch, ""))):
                table[cp] = ord(named[1].lower())  # what its name says it is: ø, ł, ʙ (small capital), 🅱, 🇧
    for ch, latin in LEET.items():
        table[ord(ch)] = ord(latin)
    table[ord("o")] = ord("o")  # the confusables data maps some letters to digits; keep letters letters
    for latin in "abcdefghijklmnopqrstuvwxyz":
        table[ord(latin)] = ord(latin)
    return table


_tables: Tables | None = None
_tables_lock = threading.Lock()


def tables() -> Tables:
    global _tables
    if _tables is not None:  # built: no lock needed to read it (every scan asks)
        return _tables
    with _tables_lock:
        if _tables is None:
            _tables = Tables()
        return _tables


@dataclass(frozen=True)
class View:
    name: str
    text: str
    index: np.ndarray  # index[i] = offset in the original text of view character i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covered by view characters [start, end)."""
        return int(self.index[start]), int(self.index[end - 1]) + 1


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int32)


def _to_str(codes: np.ndarray) -> str:
    return codes.astype("<u4").tobytes().decode("utf-32-le")


to_str = _to_str


def _folded(text: str, t: Tables) -> tuple[np.ndarray, np.ndarray]:
    """Folded code points and, for each, the offset of the original character it came from."""
    raw = _codes(text)
    codes = np.where(raw < _LIMIT, t.fold[np.minimum(raw, _LIMIT - 1)], _DEL)
    index = np.arange(len(raw), dtype=np.int64)
    expand = codes == _EXP
    if expand.any():
        lengths = np.ones(len(raw), dtype=np.int64)
        where = np.flatnonzero(expand)
        parts = [t.expansions[int(raw[i])] for i in where]
        lengths[where] = [len(p) for p in parts]
        starts = np.cumsum(lengths) - lengths
        index = np.repeat(index, lengths)
        codes = np.repeat(codes, lengths)
        for i, p in zip(where, parts):
            codes[starts[i]:starts[i] + len(p)] = p
    keep = codes >= 0
    return codes[keep], index[keep]


def _spaced(codes: np.ndarray, index: np.ndarray, sep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each run of separators becomes one space."""
    prev = np.concatenate(([False], sep[:-1]))
    keep = ~(sep & prev)
    out = np.where(sep, 0x20, codes)[keep]
    return out, index[keep]


def _compacted(codes: np.ndarray, index: np.ndarray, sep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Separators dropped, then runs of one repeated character collapsed to one."""
    codes, index = codes[~sep], index[~sep]
    if len(codes) > 1:
        keep = np.concatenate(([True], codes[1:] != codes[:-1]))
        codes, index = codes[keep], index[keep]
    return codes, index


def views(text: str, names: tuple[str, ...] = ("text", "compact", "leet")) -> list[View]:
    """The requested views of text, in order."""
    t = tables()
    codes, index = _folded(text, t)
    sep = t.sep[codes] if len(codes) else np.zeros(0, dtype=bool)
    out = []
    for name in names:
        if name == "text":
            c, i = _spaced(codes, index, sep)
        elif name == "compact":
            c, i = _compacted(codes, index, sep)
        elif name == "leet":
            mapped = t.leet[codes] if len(codes) else codes
            keep = mapped >= 0
            c, i = _compacted(mapped[keep], index[keep], t.leet_sep[codes][keep])
        else:
            raise ValueError(f"unknown view {name!r}")
        out.append(View(name, _to_str(c), i))
    return out


def _collapse(codes: np.ndarray) -> np.ndarray:
    if len(codes) < 2:
        return codes
    keep = np.empty(len(codes), dtype=bool)
    keep[0] = True
    np.not_equal(codes[1:], codes[:-1], out=keep[1:])
    return codes[keep]


def quick_view(text: str) -> str:
    """The prefilter view: the compact view with leet letters mapped and leet symbols dropped.

    A term found in the text, compact or leet view (leet without symbols) is always found here
    (each is the same per-character folding followed by dropping characters and collapsing
    repeats), so a text with no hit here and no leet symbol has no hit at all. No offsets kept.
    """
    return _quick(text, tables().quick)


def quick_leet_view(text: str) -> str:
    """The leet view without offsets (for the prefilter)."""
    return _quick(text, tables().quick_leet)


def _quick(text: str, table: np.ndarray) -> str:
    return _to_str(quick_codes(_raw(text), table))


def _raw(text: str) -> np.ndarray:
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return _codes(text)


def quick_codes(raw: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The code points of a quick view (table: Tables.quick or Tables.quick_leet) of raw code points
    (uint8 for ASCII text, int32 otherwise)."""
    if raw.dtype == np.uint8:
        mapped = table[raw]
    else:
        mapped = _full(table)[raw]
        if mapped.min(initial=0) == _EXP:  # ligatures and the like: put in the characters they stand for
            expand = np.flatnonzero(mapped == _EXP)
            rest = tables().quick_exp[id(table)]
            parts = np.split(mapped, expand)
            mapped = np.concatenate([parts[0]] + [np.concatenate((rest[int(raw[i])], p[1:]))
                                                  for i, p in zip(expand, parts[1:])])
    return _collapse(mapped[mapped >= 0])


def quick_codes_index(raw: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """quick_codes, and for each code the offset of the original character it came from (slower:
    only for a text where the prefilter found something)."""
    mapped = table[raw] if raw.dtype == np.uint8 else _full(table)[raw]
    index = np.arange(len(raw), dtype=np.int64)
    expand = np.flatnonzero(mapped == _EXP)
    if len(expand):
        rest = tables().quick_exp[id(table)]
        parts = [rest[int(raw[i])] for i in expand]
        lengths = np.ones(len(raw), dtype=np.int64)
        lengths[expand] = [len(p) for p in parts]
        starts = np.cumsum(lengths) - lengths
        index, mapped = np.repeat(index, lengths), np.repeat(mapped, lengths)
        for i, p in zip(expand, parts):
            mapped[starts[i]:starts[i] + len(p)] = p
    keep = mapped >= 0
    mapped, index = mapped[keep], index[keep]
    if len(mapped) > 1:
        keep = np.concatenate(([True], mapped[1:] != mapped[:-1]))
        mapped, index = mapped[keep], index[keep]
    return mapped, index


_full_tables: dict[int, np.ndarray] = {}


def _full(table: np.ndarray) -> np.ndarray:
    """table extended to every code point (beyond _LIMIT: dropped), so one lookup maps any text."""
    full = _full_tables.get(id(table))
    if full is None:
        full = np.full(0x110000, _DEL, dtype=np.int32)
        full[:_LIMIT] = table
        _full_tables[id(table)] = full
    return full


def leet_marked(raw: np.ndarray) -> np.ndarray:
    """Positions of the characters of raw code points (see quick_codes) in Tables.leet_marks."""
    marks = tables().leet_marks
    if raw.dtype == np.uint8:
        return np.flatnonzero(marks[raw])
    return np.flatnonzero(marks[np.minimum(raw, _LIMIT - 1)] & (raw < _LIMIT))


def has_leet_symbols(text: str) -> bool:
    """Whether the text holds a character that the leet view reads unlike the quick view
    (Tables.leet_marks): a leet symbol, or a form that folds to one (full-width ＠, small ﹩, ₊ ...)."""
    t = tables()
    if text.isascii():
        return any(map(text.__contains__, t.leet_ascii))  # a fast substring search per symbol
    return t.leet_re.search(text) is not None


def term_forms(term: str) -> dict[str, str]:
    """A list term as it appears in each view (the same folding as the text, so they always agree)."""
    v = {view.name: view.text for view in views(term)}
    return {"text": v["text"].strip(), "compact": v["compact"], "leet": v["leet"], "quick": quick_view(term)}
