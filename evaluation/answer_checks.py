"""Checks of an answer that need no judge model. Pure functions of text, tested with literal strings.

Numbers are compared as quantities: "$82,959 million", "82.959 billion" and "$83.0 billion" are
the same figure at the precision each is written with (a figure written with fewer digits matches
when it is the other one rounded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from app.turn.figures import parse_figures

__all__ = ["Quantity", "parse_numbers", "salient_numbers", "same_quantity", "contains_number", "contains_phrase",
           "gold_is_na", "says_not_in_documents", "expected_items_found", "cites_evidence"]


@dataclass(frozen=True)
class Quantity:
    value: float
    precision: float  # the size of one step in the last written digit, scaled
    percent: bool = False
    currency: bool = False  # an amount: written with a currency or a scale word
    grouped: bool = False  # written with thousands separators
    text: str = ""


def parse_numbers(text: str) -> list[Quantity]:
    """Every number in the text as a quantity, read by the app's one figure parser (app/turn/figures.py):
    scale words and percent signs applied; a year, a date or a fiscal period counts as its year (written as one)."""
    out = []
    for f in parse_figures(text):
        if f.kind in ("date", "period", "year"):
            out.append(Quantity(float(f.year), 1.0, text=str(f.year)))
        else:
            out.append(Quantity(f.value, f.precision, f.kind == "percent", f.kind == "amount", f.grouped, f.text))
    return out


def salient_numbers(text: str) -> list[Quantity]:
    """The figures a gold answer states: money, percentages, scaled or grouped or decimal numbers.

    Years, dates, list markers and small counts ("three months", "1.") say little and are left out.
    """
    keep = []
    for q in parse_numbers(text):
        written = q.text.lstrip("-−($€£¥ ")
        if q.currency or q.percent or q.grouped or q.precision != 1.0 or "." in written:
            keep.append(q)
    seen: dict[tuple, Quantity] = {}
    for q in keep:
        seen.setdefault((round(abs(q.value), 6), q.percent), q)
    return list(seen.values())


def same_quantity(a: Quantity, b: Quantity) -> bool:
    """Equal at the coarser of the two precisions (rounding to the shown digits), sign ignored."""
    if a.percent != b.percent:
        return False
    tolerance = max(a.precision, b.precision) / 2
    return abs(abs(a.value) - abs(b.value)) <= tolerance * (1 + 1e-9)


def contains_number(answer: str, number: Quantity) -> bool:
    return any(same_quantity(number, q) for q in parse_numbers(answer))


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w%$.]+", " ", text.casefold()).split())


def contains_phrase(answer: str, phrase: str) -> bool:
    """Case- and punctuation-insensitive containment; a phrase that is a number is compared as a quantity."""
    numbers = parse_numbers(phrase)
    if len(numbers) == 1 and numbers[0].text.strip() == phrase.strip():
        return contains_number(answer, numbers[0])
    return _fold(phrase) in _fold(answer)


def expected_items_found(answer: str, items: Iterable[str]) -> list[bool]:
    return [contains_phrase(answer, item) for item in items]


_NA = {"n/a", "na", "none", "not in the documents", "not answerable", "unanswerable", "not available"}


def gold_is_na(answer: str | None) -> bool:
    """The gold answer says the documents do not answer the question."""
    return answer is not None and answer.strip().strip(".").casefold() in _NA


_ABSTAIN = re.compile(
    r"not (?:in|found in|mentioned in|covered by|provided in|present in|stated in) (?:the |your |these |any )?"
    r"(?:documents?|sources?|context|provided)|"
    r"(?:documents?|sources?|context) (?:do|does) not (?:say|mention|contain|provide|include|specify|state)|"
    r"(?:found|find) nothing in your documents|"
    r"(?:no|not enough) (?:information|mention|data|details?) (?:about|on|in|regarding|is)|"
    r"(?:cannot|can't|can not|could not|couldn't|unable to) (?:find|answer|determine|locate)|"
    r"i (?:do not|don't) know|"
    r"文档中(?:没有|未)|未(?:提及|找到)|无法(?:回答|确定)",
    re.IGNORECASE)


def says_not_in_documents(answer: str) -> bool:
    """The answer says the documents do not hold the answer (rather than making one up)."""
    return bool(_ABSTAIN.search(answer))


def cites_evidence(citations: Sequence[dict], docs: Sequence[str], pages: Sequence[int] = (), *,
                   numbered_only: bool = True) -> bool:
    """Some citation points at an evidence document (and page, when pages are given)."""
    for c in citations:
        if numbered_only and not c.get("cited", True):
            continue
        if c["file"] in docs and (not pages or c["page"] in pages):
            return True
    return False

