"""An answer's figures against the passages the model was given: linked, marked or withheld, and the source
lines that hold the figures a question asks about. Pure functions of text and hits (figures.py parses)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from app.turn.figures import Figure, grounds, parse_figures, passage_scales
from app.turn.results import Check, Evidence, FigureLink
from rag.store import Hit

__all__ = ["WITHHELD", "FIGURE_MODES", "SourceFigures", "index_sources", "ground_figures", "withhold",
           "figure_check", "evidence_lines"]

WITHHELD = "[not in the sources]"
FIGURE_MODES = ("mark", "withhold", "off")
_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]", re.I)
_STOP = set("the a an of in on for to and or is was were be by with what which how did does do that this from "
            "as at it its their our your total much many".split())
_PERIOD_WORDS = set("january february march april may june july august september october november december three six "
                    "nine twelve months month ended ending quarter quarterly year years fiscal period periods".split())
_LINES = re.compile(r"\n+|(?<=[.;!?。；！？])\s+")


@dataclass(frozen=True)
class SourceFigures:
    n: int
    hit: Hit
    figures: tuple[Figure, ...]
    scales: tuple[float, ...]  # the units the passage declares for its bare numbers


def index_sources(sources: Sequence[Hit]) -> list[SourceFigures]:
    """Each source's figures, parsed once per turn."""
    return [SourceFigures(n, h, tuple(parse_figures(h.text)), passage_scales(h.text)) for n, h in enumerate(sources, 1)]


def ground_figures(answer: str, index: Sequence[SourceFigures]) -> list[tuple[Figure, FigureLink]]:
    """Every figure of the answer, linked to the first source (in rank order) that holds it, or ungrounded."""
    out = []
    for f in parse_figures(answer):
        src = next((s for s in index if any(grounds(g, f, s.scales) for g in s.figures)), None)
        link = (FigureLink(f.text, f.kind, f.normalised(), True, src.n, src.hit.file, src.hit.page) if src
                else FigureLink(f.text, f.kind, f.normalised(), False))
        out.append((f, link))
    return out


def withhold(answer: str, found: Sequence[tuple[Figure, FigureLink]], placeholder: str = WITHHELD) -> str:
    """The answer with each ungrounded figure replaced by the placeholder."""
    for f, link in sorted(found, key=lambda p: p[0].start, reverse=True):
        if not link.grounded:
            answer = answer[:f.start] + placeholder + answer[f.end:]
    return answer


def figure_check(links: Sequence[FigureLink], mode: str, ms: float = 0.0) -> Check:
    """The turn's figures check: passed when every figure is grounded, else marked or withheld. Never blocks."""
    missing = [link.text for link in links if not link.grounded]
    if not missing:
        return Check("answer", "figures", "passed", reason=f"{len(links)} figures, all in the sources", ms=ms)
    status = "withheld" if mode == "withhold" else "marked"
    return Check("answer", "figures", status, ms=ms,
                 reason=f"{len(missing)} of {len(links)} figures not in the sources: {', '.join(missing)}")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP and (len(w) > 2 or not w.isascii())}


def _periodic(word: str) -> bool:
    return word in _PERIOD_WORDS or (word.isdigit() and len(word) == 4)


def evidence_lines(question: str, sources: Sequence[Hit], limit: int = 3) -> list[Evidence]:
    """The source lines (a table row or a sentence) that hold an amount, percentage or count and share the most
    words naming what the question asks for ("net sales"; the rarer among the lines weigh more), then the most
    words of its period ("three months ended June"); best first, at most `limit`, none without a shared word."""
    asked, lines = _words(question), []
    for n, hit in enumerate(sources, 1):
        for line in _LINES.split(hit.text):
            line = " ".join(line.split())
            shared = asked & _words(line)
            if shared and line not in {c[1] for c in lines} and any(
                    f.kind in ("amount", "percent", "count") for f in parse_figures(line)):
                lines.append((n, line, hit, shared))
    df = Counter(w for *_, shared in lines for w in shared)
    score = {line: (sum(math.log(1 + len(lines) / df[w]) for w in shared if not _periodic(w)),
                    sum(_periodic(w) for w in shared)) for _, line, _, shared in lines}
    ranked = sorted(lines, key=lambda c: (-score[c[1]][0], -score[c[1]][1], c[0]))[:limit]
    return [Evidence(line[:300], n, hit.file, hit.page) for n, line, hit, _ in ranked]
