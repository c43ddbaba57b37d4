"""The keyword layer: Aho-Corasick over normalised views, lists you can edit without a restart.

A list folder holds one file per category, `<category>.txt`, one term per line (# comments).
A file named `allow.txt` lists phrases that override a match they contain.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Iterable, Sequence

import ahocorasick

from guard.normalize import View, is_cjk, normalize_term, nospace_term, views
from guard.verdict import Match, Verdict

__all__ = ["KeywordFilter", "DEFAULT_LISTS"]

log = logging.getLogger(__name__)

LAYER = "keyword"
DEFAULT_LISTS = Path(__file__).parent / "wordlists" / "default"
ALLOW = "allow"
# A Latin phrase this long, spaces removed, is matched even where its letters were spread apart.
NOSPACE_MIN = 8


class KeywordFilter:
    layer = LAYER

    def __init__(self, folders: Sequence[Path] = (DEFAULT_LISTS,)):
        self.folders = [Path(f) for f in folders]
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._deny = self._allow = None
        self._terms = 0
        self.reload_if_changed()

    @property
    def term_count(self) -> int:
        return self._terms

    def _files(self) -> list[Path]:
        return sorted(f for folder in self.folders if folder.is_dir() for f in folder.glob("*.txt"))

    def reload_if_changed(self) -> bool:
        files = self._files()
        stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        if stamp == self._stamp:
            return False
        deny, allow = _automata(), _automata()
        terms = 0
        for f in files:
            category = f.stem
            target = allow if category == ALLOW else deny
            for line in f.read_text(encoding="utf-8").splitlines():
                raw = line.split("#", 1)[0]
                term = normalize_term(raw)
                if not term:
                    continue
                target["text"].add_word(term, (category, term, f.parent.name))
                packed = nospace_term(raw)
                if any(is_cjk(c) for c in packed) or len(packed) >= NOSPACE_MIN:
                    target["nospace"].add_word(packed, (category, term, f.parent.name))
                terms += category != ALLOW
        for auto in (*deny.values(), *allow.values()):
            if len(auto):
                auto.make_automaton()
        with self._lock:
            self._deny, self._allow, self._stamp, self._terms = deny, allow, stamp, terms
        log.info("keyword lists loaded terms=%d files=%d", terms, len(files))
        return True

    def scan(self, text: str) -> list[Match]:
        """Every deny-list hit not covered by an allow-list phrase, with spans in the original text."""
        self.reload_if_changed()
        with self._lock:
            deny, allow = self._deny, self._allow
        found: dict[tuple[int, int, str], Match] = {}
        for view in views(text):
            allowed = list(_hits(allow[view.name], view, text))
            for start, end, (category, term, listname) in _hits(deny[view.name], view, text):
                if any(a0 <= start and end <= a1 for a0, a1, _ in allowed):
                    continue
                o0, o1 = view.span(start, end)
                found.setdefault((o0, o1, category), Match(category, term, o0, o1, view.name, listname))
        return sorted(found.values(), key=lambda m: (m.start, m.end))

    def check(self, conversation: Sequence[tuple[str, str]]) -> Verdict:
        """Judge the last message of the conversation."""
        matches = self.scan(conversation[-1][1])
        if not matches:
            return Verdict(LAYER, "passed")
        cats = tuple(dict.fromkeys(m.category for m in matches))
        terms = ", ".join(dict.fromkeys(repr(m.term) for m in matches))
        return Verdict(LAYER, "blocked", cats, 1.0, f"keyword list {'/'.join(cats)} matched {terms}",
                       tuple(matches))


def _automata() -> dict[str, ahocorasick.Automaton]:
    return {"text": ahocorasick.Automaton(), "nospace": ahocorasick.Automaton()}


def _hits(automaton, view: View, original: str) -> Iterable[tuple[int, int, tuple]]:
    """(start, end, value) of matches; Latin-script terms must be whole words.

    In the text view the neighbours are checked there; in the nospace view they are checked
    in the original text, so 'b o m b' matches 'bomb' but 'bombastic' does not.
    """
    if not len(automaton):
        return
    text = view.text
    for end_index, (category, term, listname) in automaton.iter(text):
        length = len(term) if view.name == "text" else len(nospace_term(term))
        start, end = end_index - length + 1, end_index + 1
        if view.name == "text":
            before = text[start - 1] if start > 0 else ""
            after = text[end] if end < len(text) else ""
        else:
            o0, o1 = view.span(start, end)
            before = original[o0 - 1] if o0 > 0 else ""
            after = original[o1] if o1 < len(original) else ""
        if not is_cjk(term[0]) and _wordish(before):
            continue
        if not is_cjk(term[-1]) and _wordish(after):
            continue
        yield start, end, (category, term, listname)


def _wordish(ch: str) -> bool:
    return bool(ch) and ch.isalnum() and not is_cjk(ch)
