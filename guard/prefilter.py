"""The keyword prefilter: can any term occur in this text? Answered with a few numpy operations.

Every deny term, in the prefilter view (guard/normalize.py, `quick_codes`), contains a known
2-character (terms of 2 or 3) or 4-character gram, chosen as the one least likely in ordinary text
(rare English letters; the quick view drops spaces, so 'make a bomb' keys on 'abom', not 'make').
The grams are hashed into a table; the text's prefilter view is hashed at every position the same
way, so one table lookup per position and gram size finds every place a term can be.
Hash collisions only add candidates: each candidate is confirmed, so the answer is exact, not
probabilistic. Here the term automaton reads a window around it (the automaton costs about 50 ns a
character); the compiled scanner (guard/_fastscan.c find) compares the view there with the terms
keyed on the candidate's table slot, which needs no automaton. Ordinary text has no candidate at all.
"""

from __future__ import annotations

import numpy as np

from guard import fastscan

__all__ = ["Prefixes", "near_windows", "spans_in"]

_BITS = 20  # 1M-entry table: a few hundred grams give about one false candidate per 2,000 positions
_K1 = np.uint32(0x9E3779B1)
_K2 = np.uint32(0x85EBCA77)
_SHIFT = np.uint32(32 - _BITS)
SIZES = (2, 4)
# A short ASCII text is read faster by the automaton itself (about 40 ns a character) than hashed:
# the numpy operations cost more in call overhead than in work below a few thousand characters.
DIRECT_MAX = 4096
# English letter frequencies (per mille), for picking the rarest gram of a Latin term.
_LETTER_FREQ = dict(zip("abcdefghijklmnopqrstuvwxyz", (82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, 67, 75, 19,
                                                        1, 60, 63, 91, 28, 10, 24, 2, 20, 1)))


def _hashes(codes: np.ndarray) -> dict[int, np.ndarray]:
    """Table indices of the gram starting at each position, per gram size."""
    u = codes.view(np.uint32) if codes.dtype == np.int32 else codes.astype(np.uint32)
    out = {}
    h = u[:-1] * _K1 ^ u[1:]
    out[2] = (h * _K2) >> _SHIFT
    if len(h) > 2:
        out[4] = ((h[:-2] * _K1 ^ h[2:]) * _K2) >> _SHIFT
    return out


def _commonness(gram: str) -> float:
    return sum(_LETTER_FREQ.get(c, 5 if c.isascii() else 1) for c in gram)


class Prefixes:
    """The prefixes of one set of terms, and the automaton that confirms a candidate."""

    def __init__(self):
        self.table = {size: np.zeros(1 << _BITS, dtype=bool) for size in SIZES}
        self.longest = 0
        # Per gram size: how far a term keyed on such a gram reaches before and after the gram's start.
        self.reach = {size: (0, 0) for size in SIZES}
        self.count = 0
        self.short = False  # a term of one character: every text is a candidate
        # Per gram size: table slot -> the (start of the gram in the term, term) of each term keyed there.
        self.keyed: dict[int, dict[int, list[tuple[int, str]]]] = {size: {} for size in SIZES}
        self._packed: tuple | None = None  # what packed() gives, made once

    def add(self, term: str) -> None:
        """A term as it reads in the prefilter view."""
        codes = np.array([ord(c) for c in term], dtype=np.int32)
        self._packed = None
        self.count += 1
        self.longest = max(self.longest, len(codes))
        if len(codes) < 2:
            self.short = True
            return
        size = 2 if len(codes) < 4 else 4
        at = min(range(len(term) - size + 1), key=lambda i: _commonness(term[i:i + size]))
        slot = int(_hashes(codes[at:at + size])[size][0])
        self.table[size][slot] = True
        keyed = self.keyed[size].setdefault(slot, [])
        if (at, term) not in keyed:
            keyed.append((at, term))
        before, after = self.reach[size]
        self.reach[size] = (max(before, at), max(after, len(codes) - at))

    def candidates(self, codes: np.ndarray) -> np.ndarray:
        """Positions where some term's chosen gram (probably) starts, in order."""
        if not self.count or len(codes) < SIZES[0]:
            return np.zeros(0, dtype=np.int64)
        found = []
        for size, idx in _hashes(codes).items():
            hit = self.table[size][idx]
            if hit.any():
                found.append(np.flatnonzero(hit))
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(found)) if len(found) > 1 else found[0]

    def any_match(self, codes: np.ndarray, automaton, to_str) -> bool:
        """True when a term of the automaton occurs in codes (exact: candidates are confirmed).

        The windows around the candidates (see windows: every term holding a candidate gram lies
        inside one) are merged and read by the automaton in one pass, joined by NUL, which no view
        holds.
        """
        if self.short or (len(codes) <= DIRECT_MAX and codes.max(initial=0) < 0x80):
            return next(automaton.iter(to_str(codes)), None) is not None
        joined = self.windows(codes)
        return joined is not None and next(automaton.iter(to_str(joined)), None) is not None

    def windows(self, codes: np.ndarray) -> np.ndarray | None:
        """The merged windows around the candidates, each followed by NUL (None: no candidate).

        A candidate gram of size k at s can only be part of a term occurring within
        [s - before, s + after) (self.reach[k]), so every occurrence lies inside some window.
        """
        if not self.count or len(codes) < SIZES[0]:
            return None
        los, his = [], []
        for size, idx in _hashes(codes).items():
            starts = np.flatnonzero(self.table[size][idx])
            if len(starts):
                before, after = self.reach[size]
                los.append(np.maximum(starts - before, 0))
                his.append(np.minimum(starts + after, len(codes)))
        if not los:
            return None
        lo, hi = np.concatenate(los), np.concatenate(his)
        order = np.argsort(lo, kind="stable")
        lo, hi = lo[order], hi[order]
        # merge overlapping windows: a new range starts where a window begins after all earlier ones end
        new = np.concatenate(([True], lo[1:] > np.maximum.accumulate(hi)[:-1]))
        first = np.flatnonzero(new)
        ends = np.maximum.reduceat(hi, first)
        pieces = []
        for a, b in zip(lo[first].tolist(), ends.tolist()):
            pieces += [codes[a:b], _NUL]
        return np.concatenate(pieces)

    def packed(self) -> tuple | None:
        """What the compiled scanner reads (guard/_fastscan.c Grams): the gram tables packed 8 bits a
        byte (128 KiB each, so they stay in the CPU's cache, which a bool a byte would not), the bits
        of a slot, and per size the terms keyed on each slot. None where it cannot be used: not
        built, or a term of one character, which any text may hold (any_match reads those whole).
        """
        if fastscan.compiled is None or self.short:
            return None
        if self._packed is None:
            self._packed = (*(np.packbits(self.table[size], bitorder="little") for size in SIZES), _BITS,
                            *({slot: tuple(terms) for slot, terms in self.keyed[size].items()} for size in SIZES))
        return self._packed

    def matches(self, codes: np.ndarray, automaton, to_str) -> list[tuple[int, int]]:
        """[start, end) in codes of every term of the automaton (for a text any_match said yes to)."""
        n = self.longest
        if self.short:
            windows = [(0, len(codes))]
        else:
            # A term holding a candidate at s lies inside [s - n, s + 2n); overlapping windows are
            # read as one (any term found there is in the codes, and inside some window anyway).
            windows = []
            for a, b in sorted({(max(s - n, 0), s + 2 * n) for s in self.candidates(codes).tolist()}):
                if windows and a <= windows[-1][1]:
                    windows[-1] = (windows[-1][0], max(windows[-1][1], b))
                else:
                    windows.append((a, b))
        return spans_in(windows, codes, automaton, to_str)


def near_windows(codes: np.ndarray, index: np.ndarray, marked: np.ndarray, reach: int) -> np.ndarray | None:
    """The windows [v - reach, w + reach) of a view around marked characters, merged and each
    followed by NUL as Prefixes.windows gives them (None: nothing marked).

    codes, index: the view and each code's original offset (guard/normalize.py quick_codes_index);
    marked: original offsets, in order; v and w: the view's length before and after each (equal
    where the character added nothing). guard/_fastscan.c near() gives the same in one pass.
    """
    if not len(marked):
        return None
    lo = np.maximum(np.searchsorted(index, marked, "left") - reach, 0)
    hi = np.minimum(np.searchsorted(index, marked, "right") + reach, len(codes))
    new = np.concatenate(([True], lo[1:] > np.maximum.accumulate(hi)[:-1]))
    first = np.flatnonzero(new)
    pieces = []
    for a, b in zip(lo[first].tolist(), np.maximum.reduceat(hi, first).tolist()):
        pieces += [codes[a:b], _NUL]
    return np.concatenate(pieces)


def spans_in(windows, codes: np.ndarray, automaton, to_str) -> list[tuple[int, int]]:
    """[start, end) in codes of every term the automaton finds inside the windows, sorted, each once."""
    out = set()
    for a, b in windows:
        for end, value in automaton.iter(to_str(codes[a:b])):
            length = value if isinstance(value, int) else value.length
            out.add((a + end - length + 1, a + end + 1))
    return sorted(out)


_NUL = np.zeros(1, dtype=np.int32)
