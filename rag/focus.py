"""Which documents a question is about, when it names a company or a period: "Apple's Q2 2023 10-Q",
"NVIDIA's most recent 10-Q", "英特尔2023年第一季度".

Passages of four quarterly reports of one company read alike ("Total net sales 81,797"); the embedder
cannot tell which quarter a question means, but the question says it and each document's file name and
cover page (rag.identity) say theirs. Search then looks in those documents as well as everywhere
(rag.search adds their rankings to the fusion: a steer, not a filter, so a wrong reading costs rank,
never the answer). Pure functions, no I/O.

A document's period is read from its file name first ("2023 Q2 AAPL.pdf": people name filings by the
quarter they call it, which for a fiscal calendar is not the calendar quarter of the end date), else
from the cover's period end date (calendar quarter: "quarter ended July 1, 2023" is Q2 2023).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from datetime import date
from pathlib import Path
from typing import Sequence

from rag.identity import Identity

__all__ = ["DocAbout", "Asked", "read_question", "focus", "mentions"]


@dataclass(frozen=True)
class DocAbout:
    doc_id: str
    file: str
    identity: Identity = Identity()

    # Read once per document (Library keeps its DocAbouts until the catalog changes).
    @cached_property
    def ended(self) -> date | None:
        return self.identity.ended_date()

    @cached_property
    def quarter(self) -> tuple[int, int] | None:
        return doc_quarter(self)

    @cached_property
    def names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return company_names(self)


@dataclass(frozen=True)
class Asked:
    """What a question says about its documents."""

    quarter: tuple[int, int] | None = None  # (year, quarter)
    year: int | None = None  # a year with no quarter ("in fiscal 2023")
    ended: date | None = None  # "the quarter ended July 1, 2023"
    latest: bool = False  # "the latest / most recent 10-Q"


_ORDINAL = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
            "一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_YEAR = r"((?:19|20)\d\d|'\d\d|FY\s?\d\d)"
_QUARTER_PATTERNS = [  # (pattern, group of the quarter, group of the year)
    (re.compile(r"\bQ([1-4])\s*(?:of\s+)?(?:fiscal\s+(?:year\s+)?|FY\s?)?" + _YEAR + r"\b", re.I), 1, 2),
    (re.compile(r"\b" + _YEAR + r"\s*[-/ ]?\s*Q([1-4])\b", re.I), 2, 1),
    (re.compile(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\s+(?:of\s+|in\s+)?"
                r"(?:the\s+)?(?:fiscal\s+(?:year\s+)?|FY\s?)?" + _YEAR + r"\b", re.I), 1, 2),
    (re.compile(r"\b" + _YEAR + r"\s+(first|second|third|fourth)\s+(?:fiscal\s+)?quarter\b", re.I), 2, 1),
    (re.compile(r"((?:19|20)\d\d)\s*年?\s*(?:第\s*)?([一二三四1-4])\s*季(?:度)?"), 2, 1),
]
_YEAR_ONLY = re.compile(r"\b(?:fiscal\s+(?:year\s+)?|FY\s?|in\s+|for\s+|during\s+)((?:19|20)\d\d)\b|((?:19|20)\d\d)\s*(?:财年|年度)",
                        re.I)
_ENDED = re.compile(r"\bended\s+([A-Z][a-z]{2,8}\.?\s+\d{1,2},\s+(?:19|20)\d\d)")
_LATEST = re.compile(r"\b(?:latest|most\s+recent|newest)\s+(?:quarterly\s+|annual\s+)?"
                     r"(?:10-?[QK]|20-F|quarter|filing|report|period|fiscal\s+quarter)"
                     r"|\blast\s+(?:quarterly\s+|annual\s+)?(?:10-?[QK]|20-F|filing|report)|最新|最近一期", re.I)
# "... compared to previous quarters": the latest document and the ones before it
_ACROSS = re.compile(r"\b(?:previous|prior|past|earlier|preceding|over time|trends?|historical)\b|以来|历年|之前", re.I)
# A file name's period: "2023 Q2 AAPL", "AAPL_Q2-2023", "aapl-2023q2"
_FILE_QUARTER = [re.compile(r"(?<![0-9])((?:19|20)\d\d)[\s_.-]*Q([1-4])(?![0-9])", re.I),
                 re.compile(r"(?<![A-Za-z0-9])Q([1-4])[\s_.-]*((?:19|20)\d\d)(?![0-9])", re.I)]
_LEGAL = re.compile(r"[,.]?\s+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|holdings?|group|"
                    r"n\.?v|s\.?a|ag|se)\.?$", re.I)
_TICKER = re.compile(r"(?<![A-Za-z])([A-Z]{2,5})(?![A-Za-z])")
_NOT_TICKER = {"FY", "Q1", "Q2", "Q3", "Q4", "PDF", "10Q", "10K", "SEC", "ESG", "USD", "AI", "ANNUAL", "FORM", "DEF"}


def _year(text: str) -> int | None:
    digits = re.sub(r"\D", "", text)
    if len(digits) == 2:
        return 2000 + int(digits)
    return int(digits) if len(digits) == 4 else None


def read_question(question: str) -> Asked:
    """The period a question asks about, if it names one. Pure."""
    for pattern, q_group, y_group in _QUARTER_PATTERNS:
        m = pattern.search(question)
        if m:
            year = _year(m.group(y_group))
            if year:
                return Asked(quarter=(year, _ORDINAL[m.group(q_group).lower()]))
    m = _ENDED.search(question)
    if m:
        ended = Identity(ended=" ".join(m.group(1).split())).ended_date()
        if ended:
            return Asked(ended=ended)
    if _LATEST.search(question):
        return Asked(latest=True)
    m = _YEAR_ONLY.search(question)
    if m:
        return Asked(year=int(m.group(1) or m.group(2)))
    return Asked()


def file_quarter(file: str) -> tuple[int, int] | None:
    """(year, quarter) a file name states: '2023 Q2 AAPL.pdf' -> (2023, 2)."""
    stem = Path(file).stem
    for i, pattern in enumerate(_FILE_QUARTER):
        m = pattern.search(stem)
        if m:
            return (int(m.group(1)), int(m.group(2))) if i == 0 else (int(m.group(2)), int(m.group(1)))
    return None


def doc_quarter(doc: DocAbout) -> tuple[int, int] | None:
    """The document's quarter: its file name's, else the calendar quarter its period ended in (a few days into
    a quarter still count for the one before: 'July 1, 2023' closes Q2 2023)."""
    named = file_quarter(doc.file)
    if named:
        return named
    ended = doc.ended
    if ended is None or doc.identity.period != "quarter":
        return None
    month = ended.month - (1 if ended.day <= 10 else 0)
    year = ended.year
    if month == 0:
        month, year = 12, year - 1
    return year, (month - 1) // 3 + 1


def _when(doc: DocAbout) -> tuple:
    """Sort key of a document's period (None if it states none)."""
    if doc.ended:
        return (doc.ended.toordinal(),)
    if doc.quarter:
        return (date(doc.quarter[0], doc.quarter[1] * 3, 28).toordinal(),)
    return ()


def company_names(doc: DocAbout) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names matched without case, words matched as written) that a question may call the document's company by:
    'Amazon.com, Inc.' -> amazon.com, amazon; 'Acme Widgets Inc.' -> acme widgets, and Acme as a proper noun;
    tickers of the file name ('2023 Q2 AAPL.pdf' -> AAPL) as written."""
    names, written = [], []
    company = doc.identity.company.strip()
    while company and _LEGAL.search(company):
        company = _LEGAL.sub("", company).strip(" ,.&")  # "JPMorgan Chase & Co." -> JPMorgan Chase
    if company:
        names.append(company.lower())
        if company.lower().endswith(".com"):
            names.append(company.lower()[:-4])
        first = company.split()[0].strip(",.")
        if " " in company and len(first) >= 4 and first[:1].isupper():
            written += [first, first.capitalize()] if first.isupper() else [first]
    written += [t for t in _TICKER.findall(Path(doc.file).stem) if t not in _NOT_TICKER]
    # a name of two characters is one only with a digit in it ("3M"): "GE" or "HP" would be common words
    return (tuple(n for n in names if len(n) >= 3 or any(c.isdigit() for c in n)),
            tuple(dict.fromkeys(written)))


def mentions(question: str, low: str, names: tuple[str, ...], written: tuple[str, ...]) -> bool:
    """Whether the question (and `low`, its lower-cased form) calls a document's company by one of its names."""
    if any(re.search(r"(?<![a-z0-9])" + re.escape(n) + r"(?![a-z0-9])", low) for n in names):
        return True
    return any(re.search(r"(?<![A-Za-z0-9])" + re.escape(w) + r"(?![A-Za-z0-9])", question) for w in written)


def focus(question: str, docs: Sequence[DocAbout]) -> list[str] | None:
    """Ids of the documents the question names by company and/or period; None when it names none of them
    (or every document, which steers nothing). Pure."""
    if not docs:
        return None
    low = question.lower()
    mentioned: dict[tuple, bool] = {}  # documents of one company share their names: test each name once
    for d in docs:
        if d.names not in mentioned:
            mentioned[d.names] = mentions(question, low, *d.names)
    named = [d for d in docs if mentioned[d.names]]
    pool = named or list(docs)
    asked = read_question(question)
    if asked.quarter:
        chosen = [d for d in pool if d.quarter == asked.quarter]
    elif asked.ended:
        chosen = [d for d in pool if d.ended == asked.ended]
    elif asked.latest:
        chosen = named if named and _ACROSS.search(question) else _latest(pool, by_company=bool(named))
    elif asked.year:
        chosen = [d for d in pool if (d.quarter or (None,))[0] == asked.year or (d.ended and d.ended.year == asked.year)]
        if not chosen and named:  # "FY2019 - FY2020 growth" of a company whose one filing is the 2020 10-K: it holds
            chosen = named  # the 2019 column too; a year no filing of it ends in still names the company's filings
    else:
        chosen = named
    ids = [d.doc_id for d in chosen]
    return ids if ids and len(ids) < len(docs) else None


def _latest(pool: Sequence[DocAbout], by_company: bool) -> list[DocAbout]:
    """The newest dated document of each named company (or of all, when the question names none)."""
    groups: dict[str, list[DocAbout]] = {}
    for d in pool:
        if _when(d):
            key = (d.names[0] or d.names[1] or ("",))[0] if by_company else ""
            groups.setdefault(key, []).append(d)
    out = []
    for group in groups.values():
        newest = max(_when(d) for d in group)
        out += [d for d in group if _when(d) == newest]
    return out
