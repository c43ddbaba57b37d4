"""Whether the documents can answer a question at all, decided before the model writes a word.

A small model given passages that do not hold the answer improvises one. So a turn first asks whether
the documents support an answer, from what retrieval found and what the question names:
- a name the question uses ("Tesla's revenue", "Goldman Sachs") that the library's passages do not hold (every
  word of it);
- an owner ("Tesla's ...") that is neither a company of the library's filings nor in the passages found;
- a period ("Q1 2024", "fiscal 2019", "the quarter ended March 30, 2024") that no filing of the company
  named covers (a 10-Q also reports the same quarter a year earlier, so that counts as covered);
- evidence too weak: the best passage's similarity to the question is under the threshold.
Any of these makes the turn say "not in the documents" and show the closest passages instead of an answer.
Pure functions of text, hits and the library's facts; calibrated in benchmarks/bench_not_found.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Collection, Sequence

from app.turn.results import Check
from rag.focus import DocAbout, mentions, read_question
from rag.lexical import tokenize
from rag.store import Hit

__all__ = ["Support", "SUPPORT_MODES", "DEFAULT_THRESHOLD", "judge_support", "question_names", "question_words",
           "support_verdict", "not_found_answer"]

SUPPORT_MODES = ("refuse", "warn", "off")
DEFAULT_THRESHOLD = 0.25  # cosine of the best passage; benchmarks/RESULTS.md, not_found, for the trade-off

_CAPITAL = re.compile(r"(?<![\w&.'’-])([A-Z][A-Za-z&.-]*[A-Za-z])(['’]s\b|(?<=s)['’](?!\w))?")
_SENTENCE_START = re.compile(r"(?:^|[.?!:;]\s+|\n\s*|[\"“(]\s*)$")
# Capitalised words that are not names: question words, months, and the acronyms of metrics and roles.
_NOT_NAMES = frozenset("""
what which who whom whose when where why how is are was were did do does can could would should will has have had
the a an and or of in on for to by from with at as if than then this that these those there its it i
january february march april may june july august september october november december jan feb mar apr jun jul aug
sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday
q fy ttm ltm yoy qoq eps ebit ebitda roe roa roi roic cagr ceo cfo coo cto fcf arpu asp gaap ipo esg usd us usa
u.s ai gpu cpu r&d sg&a form please tell give list show compare according total
""".split())

_LEGAL = re.compile(r",?\s+(?:Inc|Incorporated|Corporation|Corp|Co|Company|Ltd|Limited|LLC|plc|N\.V|S\.A|AG|SE)\.?$", re.I)


@dataclass(frozen=True)
class Support:
    """supported, or not and why (said to the user), with the best passage's score and what the library lacks."""
    supported: bool
    reason: str = ""
    score: float = 0.0
    missing: tuple[str, ...] = ()


def question_names(question: str) -> list[tuple[str, bool]]:
    """The names a question uses, as written, each with whether it is an owner ("Tesla's"): capitalised words
    that do not start a sentence (or are possessive), acronyms and tickers; question words, months and metric
    acronyms (EPS, GAAP) are not names. Neighbouring capitalised words make one name ("Goldman Sachs")."""
    out: list[tuple[str, bool]] = []
    last_end = -2
    for m in _CAPITAL.finditer(question):
        word, owner = m.group(1), bool(m.group(2))
        if word.lower().rstrip(".") in _NOT_NAMES or len(word) < 2:
            last_end = -2
            continue
        if not owner and _SENTENCE_START.search(question[:m.start()]):
            continue
        if out and m.start() == last_end + 1 and question[last_end] == " ":
            prev, prev_owner = out.pop()
            out.append((f"{prev} {word}", owner or prev_owner))
        else:
            out.append((word, owner))
        last_end = m.end(1)
    return out


def question_words(question: str) -> list[str]:
    """The question's words as the library's keyword index writes them (what present_words is asked about)."""
    return tokenize(question)


def judge_support(question: str, hits: Sequence[Hit], docs: Sequence[DocAbout], present: Collection[str] | None,
                  *, threshold: float = DEFAULT_THRESHOLD) -> Support:
    """Whether the documents support an answer. docs: the library's documents (file, company, period);
    present: the question's words that some passage of the library holds (None: not known, not checked)."""
    if not hits:
        return Support(False, "no passage of your documents matches the question.")
    best = max(h.score for h in hits)
    names = question_names(question)
    if present is not None:
        absent = [n for n, _ in names if not all(w in present for w in tokenize(n))
                  and not any(mentions(n, n.lower(), *d.names) for d in docs)]
        if absent:
            return Support(False, f"your documents never mention {_and(absent)}.", best, tuple(absent))
    companies = [d for d in docs if d.identity.company]
    low = question.lower()
    named = [d for d in docs if mentions(question, low, *d.names)]
    passages = " ".join(h.text for h in hits).lower()
    if companies:
        strangers = [n for n, owner in names if owner and n.lower() not in passages and not any(
            mentions(n, n.lower(), *d.names) for d in companies)]
        if strangers and not named:
            held = _and(sorted({_LEGAL.sub("", d.identity.company) for d in companies}), limit=5)
            return Support(False, f"none of your documents is about {_and(strangers)} (they are about {held}).", best,
                           tuple(strangers))
    period = _uncovered_period(question, named or docs)
    if period:
        return Support(False, f"none of your documents covers {period}.", best, (period,))
    if best < threshold:
        return Support(False, f"the closest passages match the question only weakly (similarity {best:.2f}, "
                       f"under {threshold:.2f}).", best)
    return Support(True, score=best)


def _uncovered_period(question: str, docs: Sequence[DocAbout]) -> str:
    """The period the question asks about when none of the dated documents covers it, else ''. A filing covers
    its own period and the same period a year before (the comparison columns); a question that says "fiscal"
    may count a year the other way (fiscal years named for the calendar year they end in)."""
    dated = [d for d in docs if d.quarter or d.ended]
    asked = read_question(question)
    if not dated or asked.latest or not (asked.quarter or asked.year or asked.ended):
        return ""
    fiscal = "fiscal" in question.lower() or re.search(r"\bFY", question) is not None
    shifts = (0, 1, -1) if fiscal else (0, 1)
    if asked.quarter:
        (y, q) = asked.quarter
        if any(d.quarter == (y + s, q) for d in dated for s in shifts):
            return ""
        return f"Q{q} {y}"
    if asked.ended:
        if any(d.ended and abs((d.ended - asked.ended - timedelta(days=365 * s)).days) <= 10
               for d in dated for s in (0, 1)):
            return ""
        return f"the period ended {asked.ended:%B %-d, %Y}"
    years = {y for d in dated for y in ((d.quarter or (None,))[0], d.ended.year if d.ended else None) if y}
    if any(asked.year + s in years for s in shifts):
        return ""
    return f"{'fiscal ' if fiscal else ''}{asked.year}"


def _and(items: Sequence[str], limit: int = 3) -> str:
    items = list(items)[:limit] + (["others"] if len(items) > limit else [])
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]



def support_verdict(support: Support, mode: str, ms: float = 0.0) -> Check:
    """The turn's support check: passed, refused (refuse mode: no answer is generated) or weak (warn mode)."""
    if support.supported:
        return Check("question", "support", "passed", score=round(support.score, 4), reason="the passages support "
                     "an answer", ms=ms)
    return Check("question", "support", "refused" if mode == "refuse" else "weak", score=round(support.score, 4),
                 reason=f"Not in the documents: {support.reason}", ms=ms)


def not_found_answer(support: Support) -> str:
    """What the user reads instead of an answer the documents do not support."""
    return (f"Not in the documents: {support.reason} The closest passages are listed below, so you can check; "
            "no answer was generated from them.")
