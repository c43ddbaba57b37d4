"""The keyword layer: Aho-Corasick over normalised and decoded views, lists you can edit live.

A list folder holds one file per category, `<category>.txt`, one term per line (# comments).
`allow.txt` lists phrases that override a match they contain. Files are re-read when they change.
See guard/normalize.py for the views and guard/decode.py for the decoding layers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from operator import attrgetter
from pathlib import Path
from typing import Sequence

import ahocorasick
import numpy as np

from guard import fastscan
from guard.decode import LEET_MARK, decodings, gates, raw_codes
from guard.normalize import (has_leet_symbols, is_latin_word, quick_codes, quick_codes_index, tables, term_forms,
                             to_str, views)
from guard.prefilter import Prefixes
from guard.verdict import Match, Verdict
from core.errors import InputError
from guard.listfiles import ALLOW, list_files, read_terms

__all__ = ["KeywordFilter", "DEFAULT_LISTS"]

log = logging.getLogger(__name__)

LAYER = "keyword"
DEFAULT_LISTS = Path(__file__).parent / "wordlists" / "default"
VIEWS = ("text", "compact", "leet")
# A Latin phrase this long (spaces removed) also matches where its words run together or split apart.
NOSPACE_MIN = 8
MAX_DEPTH = 2  # decoded text is decoded again at most this many times
# Long texts are scanned in blocks (overlapping, so a match across a boundary is still whole), so
# that a hit costs the exact pass over one block only.
BLOCK = 1 << 16
OVERLAP = 2048
FULL_CHECK_S = 1.0  # how often every list file's size and time are compared (a folder's own time: every scan)


@dataclass(frozen=True)
class _Term:
    category: str
    term: str
    list: str
    length: int  # in the view it was added to
    latin: bool  # Latin-script: word boundaries apply
    long: bool  # long enough to match across spaces


class _Lists:
    """Automata per view, for deny terms and allow phrases."""

    def __init__(self):
        self.deny = {v: ahocorasick.Automaton() for v in VIEWS}
        self.allow = {v: ahocorasick.Automaton() for v in VIEWS}
        self.quick = ahocorasick.Automaton()  # prefilter: any deny term, in the quick view
        self.quick_prefixes = Prefixes()  # where a term of self.quick can start
        self.leet_prefixes = Prefixes()  # where a term of self.deny["leet"] can start
        self.leet_in_quick = False  # every term of self.deny["leet"] holds a term of self.quick (see _any_leet)
        self.terms = 0
        self.problems: list[str] = []

    def add(self, category: str, term: str, listname: str, where: str) -> None:
        forms = term_forms(term)
        if len(forms["compact"]) < 2:
            self.problems.append(f"{where}: term {term!r} is too short to match safely and was skipped")
            return
        latin = is_latin_word(forms["compact"])
        # Long Latin phrases also match with their words run together or split differently.
        long = " " in forms["text"] and len(forms["compact"]) >= NOSPACE_MIN
        target = self.allow if category == ALLOW else self.deny
        if category != ALLOW and forms["quick"] not in self.quick:
            self.quick.add_word(forms["quick"], len(forms["quick"]))
            self.quick_prefixes.add(forms["quick"])
        for view in VIEWS:
            form = forms[view]
            if view == "leet" and not latin:
                continue
            if form in target[view]:
                continue  # the first list that names a term wins
            if view == "leet" and category != ALLOW:
                self.leet_prefixes.add(form)
            target[view].add_word(form, _Term(category, term, listname, len(form), latin, long))
        self.terms += category != ALLOW

    def finish(self) -> None:
        for auto in (*self.deny.values(), *self.allow.values(), self.quick):
            if len(auto):
                auto.make_automaton()
        self.leet_in_quick = len(self.quick) > 0 and all(next(self.quick.iter(term), None) is not None
                                                         for term in self.deny["leet"].keys())


class KeywordFilter:
    layer = LAYER

    def __init__(self, folders: Sequence[Path] = (DEFAULT_LISTS,)):
        self.folders = [Path(f) for f in folders]
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._folders: tuple | None = None
        self._checked = 0.0
        self._lists = _Lists()
        self.reload_if_changed()

    @property
    def term_count(self) -> int:
        return self._lists.terms

    @property
    def problems(self) -> list[str]:
        """Terms that were skipped at the last load, with file and line."""
        return list(self._lists.problems)

    def files(self) -> list[Path]:
        return [f for folder in self.folders for f in list_files(folder).values()]

    def _stamp_now(self) -> tuple:
        """Names, sizes and times of the list files: cheap enough to take on every scan."""
        out = []
        for folder in self.folders:
            try:
                with os.scandir(folder) as it:
                    out += sorted((e.path, e.stat().st_mtime_ns, e.stat().st_size) for e in it
                                  if e.name.endswith(".txt") and not e.name.startswith("."))
            except (FileNotFoundError, NotADirectoryError):
                out.append((str(folder), None, None))
        return tuple(out)

    def _folders_stamp(self) -> tuple:
        """Times of the folders themselves: they change when a list is added, removed or replaced."""
        mtime = getattr(fastscan.compiled, "mtime_ns", None)  # the same, without building a stat_result
        if mtime is not None:
            return tuple(map(mtime, self.folders))
        out = []
        for folder in self.folders:
            try:
                out.append(os.stat(folder).st_mtime_ns)
            except OSError:
                out.append(None)
        return tuple(out)

    def reload_if_changed(self) -> bool:
        """Re-read the lists if a file was added, removed or changed. A broken file raises InputError.

        Adding, removing or atomically replacing a list (as Hearth's edits do) is seen at the next scan;
        a file edited in place is seen within FULL_CHECK_S, when every file's size and time are compared.
        """
        folders, now = self._folders_stamp(), time.monotonic()
        if folders == self._folders and now - self._checked < FULL_CHECK_S:
            return False
        self._folders, self._checked = folders, now
        stamp = self._stamp_now()
        if stamp == self._stamp:
            return False
        files = self.files()
        lists = _Lists()
        for f in files:
            for n, term in read_terms(f):
                lists.add(f.stem, term, f.parent.name, f"{f}:{n}")
        lists.finish()
        with self._lock:
            self._lists, self._stamp = lists, stamp
        for problem in lists.problems:
            log.warning("keyword list: %s", problem)
        log.info("keyword lists loaded terms=%d files=%d", lists.terms, len(files))
        return True

    def scan(self, text: str) -> list[Match]:
        """Every deny-list hit not covered by an allow-list phrase, with spans in the original text."""
        self.reload_if_changed()
        with self._lock:
            lists = self._lists
        if len(text) <= BLOCK + OVERLAP:
            return _scan(lists, text, 0)
        found = {}
        for start in range(0, len(text), BLOCK):
            for m in _scan(lists, text[start:start + BLOCK + OVERLAP], 0):
                m = replace(m, start=m.start + start, end=m.end + start)
                found.setdefault((m.start, m.end, m.category), m)
        return sorted(found.values(), key=_ORDER)

    def check(self, conversation: Sequence[tuple[str, str]]) -> Verdict:
        """Judge the last message of the conversation; a broken list file blocks (fail closed)."""
        try:
            matches = self.scan(conversation[-1][1])
        except InputError as e:
            return Verdict(LAYER, "error", reason=f"keyword lists cannot be read, so the turn is blocked: {e}")
        if not matches:
            return Verdict(LAYER, "passed")
        cats = tuple(dict.fromkeys(m.category for m in matches))
        terms = ", ".join(dict.fromkeys(f"{m.term!r}" + (f" ({m.view})" if m.view != "text" else "")
                                        for m in matches))
        return Verdict(LAYER, "blocked", cats, 1.0, f"keyword list {'/'.join(cats)} matched {terms}",
                       tuple(matches))


def _maybe(lists: _Lists, text: str, raw, leet: bool | None = None) -> bool:
    """False when no deny term can match (the common case), found cheaply without offsets.

    A term found in any view is found in the quick view (guard/normalize.py, quick_view), or, for a
    text with leet symbols, in the quick leet view; guard/prefilter.py finds those without running
    the automaton over the whole text. raw: raw_codes(text), or None (made only if needed); leet:
    has_leet_symbols(text) where the caller knows it.
    """
    if not len(lists.quick):
        return False
    t = tables()
    if _any(lists.quick_prefixes, lists.quick, text, t.quick, raw):
        return True
    if (has_leet_symbols(text) if leet is None else leet) and len(lists.deny["leet"]):
        return _any_leet(lists, text, raw)
    return False


def _any(prefixes: Prefixes, automaton, text: str, table, raw) -> bool:
    """Prefixes.any_match over the quick view of text: compiled where built, else numpy. (The
    compiled scanner confirms against the prefixes' own terms, which are the automaton's.)"""
    grams = prefixes.packed()
    if grams is None:
        return prefixes.any_match(quick_codes(raw_codes(text) if raw is None else raw, table), automaton, to_str)
    return fastscan.compiled.find(text, table, tables().quick_exp_text[id(table)], grams)


def _any_leet(lists: _Lists, text: str, raw) -> bool:
    """Whether a term of lists.deny["leet"] occurs in the quick leet view of a text whose quick view
    holds no term of lists.quick (what _maybe asks next).

    Where every leet term holds a quick term (lists.leet_in_quick), only the leet view around the
    characters the two quick views read differently (Tables.leet_marks) is read: away from them the
    views are the same (unmarked text gives the same codes in both, and collapsing repeats leaves,
    in either, a copy of what it gives), so a leet term read from unmarked characters only would be
    in the quick view too, holding a quick term. A term whose span in the text holds the marked
    character at p lies within [v - n, w + n) of the leet view: v and w its length before and after
    p, n the longest term. guard/_fastscan.c near() reads those windows; guard/prefilter.py
    near_windows is its reference (numpy reads the whole view: the same answer).
    """
    t, prefixes, automaton = tables(), lists.leet_prefixes, lists.deny["leet"]
    grams = prefixes.packed()
    if grams is None or not lists.leet_in_quick:  # numpy reads the whole leet view, faster there than the windows
        return _any(prefixes, automaton, text, t.quick_leet, raw)
    return fastscan.compiled.near(text, t.quick_leet, t.quick_leet_stops, t.quick_exp_text[id(t.quick_leet)],
                                  prefixes.longest, grams)


# Where the prefilter finds a term, the views are built for this much text around it, not the whole.
NEAR = 256
EDGE = 128  # a match this close to where such a window cuts the text is an artefact of the cut


def _near_hits(lists: _Lists, text: str, raw) -> list[tuple[int, int]]:
    """Original spans of the prefilter's hits (quick view, and quick leet view for leet symbols).
    raw: raw_codes(text), or None (made only if needed)."""
    t = tables()
    found = []
    for table, prefixes, automaton in ((t.quick, lists.quick_prefixes, lists.quick),
                                       (t.quick_leet, lists.leet_prefixes, lists.deny["leet"])):
        if table is t.quick_leet and not (has_leet_symbols(text) and len(automaton)):
            continue
        grams = prefixes.packed()
        if grams is not None:
            codes, index = fastscan.compiled.quick_index(text, table, t.quick_exp_text[id(table)])
            spans, index = fastscan.compiled.occurrences(codes, grams), np.frombuffer(index, dtype=np.int64)
        else:
            raw = raw_codes(text) if raw is None else raw
            codes, index = quick_codes_index(raw, table)
            spans = prefixes.matches(codes, automaton, to_str)
        found += [(int(index[a]), int(index[b - 1]) + 1) for a, b in spans]
    return found


def _exact_near(lists: _Lists, text: str, raw) -> list[Match]:
    """_exact over windows of NEAR characters around the prefilter's hits (all of the text if short).

    Every match of a view is also a hit of the quick view at the same characters, so the windows
    hold all of them; matches near a window's cut edges are dropped (the cut can make a word
    boundary that is not in the text), which the margin keeps clear of the real ones.
    """
    if len(text) <= 4 * NEAR:
        return _exact(lists, text)
    windows: list[list[int]] = []
    for a, b in sorted(_near_hits(lists, text, raw)):
        a, b = max(a - NEAR, 0), min(b + NEAR, len(text))
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    out = []
    for a, b in windows:
        for m in _exact(lists, text[a:b]):
            if (a and m.start < EDGE) or (b < len(text) and m.end > b - a - EDGE):
                continue
            out.append(replace(m, start=m.start + a, end=m.end + a))
    return out


def _scan(lists: _Lists, text: str, depth: int) -> list[Match]:
    if not text:
        return []
    # With the compiled scanner, ordinary text never needs its code points as an array.
    raw = None if fastscan.built() else raw_codes(text)
    matches = []
    # The decoders' gates, taken once: they also say whether the text holds a leet symbol.
    gate = gates(text) if depth < MAX_DEPTH else None
    if _maybe(lists, text, raw, None if gate is None else bool(gate[0] & LEET_MARK)):
        matches = _exact_near(lists, text, raw)
    if depth < MAX_DEPTH:
        for d in decodings(text, raw, gate):
            for m in _scan(lists, d.text, depth + 1):
                o0, o1 = d.span(m.start, m.end)
                matches.append(Match(m.category, m.term, o0, o1, f"{d.name}/{m.view}", m.list))
    if not matches:
        return matches  # the common case: nothing to order
    unique = {(m.start, m.end, m.category): m for m in reversed(matches)}
    return sorted(unique.values(), key=_ORDER)


_ORDER = attrgetter("start", "end", "category")  # matches are reported in this order


def _exact(lists: _Lists, text: str) -> list[Match]:
    found: dict[tuple[int, int, str], Match] = {}
    allowed: list[tuple[int, int]] = []
    for view in views(text):
        allowed += [view.span(s, e) for s, e, _ in _hits(lists.allow[view.name], view, text)]
        for start, end, t in _hits(lists.deny[view.name], view, text):
            o0, o1 = view.span(start, end)
            found.setdefault((o0, o1, t.category), Match(t.category, t.term, o0, o1, view.name, t.list))
    return [m for m in found.values() if not any(a0 <= m.start and m.end <= a1 for a0, a1 in allowed)]


def _hits(automaton, view, original: str):
    """(start, end, term) of matches in a view that stand as words in the text.

    text view: a Latin term needs non-letters on both sides in the view.
    compact and leet views: a Latin term needs non-letters on both sides in the ORIGINAL text
    ('b o m b' yes, 'bombastic' no); a short one also must be one word ('b0mb', 'b.o.m.b') or
    letters spread apart ('b o m b'), so that the ends of neighbouring words do not combine.
    """
    if not len(automaton):
        return
    text = view.text
    for end_index, t in automaton.iter(text):
        start, end = end_index - t.length + 1, end_index + 1
        if t.latin:
            if view.name == "text":
                before, after = text[start - 1:start], text[end:end + 1]
                if _wordish(before) or _wordish(after):
                    continue
            else:
                o0, o1 = view.span(start, end)
                if _wordish(original[o0 - 1:o0]) or _wordish(original[o1:o1 + 1]):
                    continue
                if not t.long and not _one_word_or_spread(original[o0:o1]):
                    continue
        yield start, end, t


def _one_word_or_spread(span: str) -> bool:
    pieces = span.split()
    return len(pieces) == 1 or all(len(p) <= 2 for p in pieces)


def _wordish(ch: str) -> bool:
    return bool(ch) and ch.isalnum() and is_latin_word(ch)
