"""What a guard layer decided, and parsing of Llama Guard's text output."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from core.errors import GuardFormatError

__all__ = ["Verdict", "Match", "parse_llama_guard_output"]


@dataclass(frozen=True)
class Match:
    """A keyword hit: which list and category, which term, and where in the ORIGINAL text."""

    category: str
    term: str
    start: int
    end: int
    view: str = "text"
    list: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """One layer's decision on one text. status: passed | blocked | missing | error."""

    layer: str
    status: str
    categories: tuple[str, ...] = ()
    score: float | None = None
    reason: str = ""
    matches: tuple[Match, ...] = field(default=(), repr=False)

    @property
    def allowed(self) -> bool:
        return self.status in ("passed", "missing")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["allowed"] = self.allowed
        d["categories"] = list(self.categories)
        d["matches"] = [m.to_dict() for m in self.matches]
        return d


_UNSAFE = re.compile(r"unsafe\s*\n\s*([A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+)*)\s*")


def parse_llama_guard_output(text: str) -> tuple[bool, tuple[str, ...]]:
    """'safe' -> (True, ()); 'unsafe\\nS1,S10' -> (False, ('S1', 'S10')); anything else raises."""
    t = text.strip()
    if t == "safe":
        return True, ()
    m = _UNSAFE.fullmatch(t)
    if m:
        return False, tuple(c.strip().upper() for c in m.group(1).split(","))
    raise GuardFormatError(f"not a Llama Guard verdict: {text[:80]!r}")
