"""Who and when a document is about, read from its cover page, for the header every chunk is embedded with.

A passage such as "Total net sales 81,797" reads the same in four quarterly reports of one company; only
the document around it says which. So the text that is embedded and BM25-indexed for each chunk starts
with the document's identity (contextual chunk headers), e.g. "Apple Inc. Form 10-Q, quarter ended
July 1, 2023"; the chunk's shown and cited text stays as it is. Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime

__all__ = ["Identity", "read_identity", "document_identity"]

COVER_CHARS = 4000  # the cover of a filing or report fits in its first few thousand characters
MAX_IDENTITY = 100  # characters: the header must leave the chunk its room in the embedder's tokens

_SPACE = re.compile(r"\s+")
_FORM = re.compile(r"\bFORM\s+(10-Q|10-K|8-K|20-F|6-K|S-1|DEF 14A)\b", re.IGNORECASE)
_PERIOD = re.compile(r"for the (quarterly period|fiscal year|transition period) ended\s+"
                     r"([A-Z][a-z]+\.? \d{1,2}, \d{4})", re.IGNORECASE)
# The registrant's name is the line just before "(Exact name of registrant as specified in its charter)".
_REGISTRANT = re.compile(r"([^\n]{2,80})\n[\s_]*\(?exact name of registrant", re.IGNORECASE)
# Failing that, the first line with letters after the commission file number (the cover's next field).
_AFTER_FILE_NO = re.compile(r"commission file (?:number|no\.?)[:\s]*[\d-]+[^\n]*\n(?:[\s_\-]*\n)*([^\n]{2,80})\n",
                            re.IGNORECASE)
_NOT_NAME = re.compile(r"^[\s_\-–—]*$|commission file|^[\d\s.,:;()/-]+$|^\d{2,}")  # "3M Company" is a name


@dataclass(frozen=True)
class Identity:
    """Who and when, as a cover page states them: company, form, period kind and its end ('June 25, 2022')."""

    company: str = ""
    form: str = ""
    period: str = ""  # quarter | fiscal year | period
    ended: str = ""

    def label(self) -> str:
        """'<company> Form <form>, <period> ended <date>', as much as is known; '' for an ordinary document."""
        who = " ".join(p for p in (self.company, f"Form {self.form}" if self.form else "") if p)
        parts = [who] if who else []
        if self.ended:
            parts.append(f"{self.period} ended {self.ended}")
        return ", ".join(parts)[:MAX_IDENTITY].rstrip(" ,")

    def ended_date(self) -> date | None:
        try:
            return datetime.strptime(self.ended.replace(".", ""), "%B %d, %Y").date()
        except ValueError:
            try:
                return datetime.strptime(self.ended.replace(".", ""), "%b %d, %Y").date()
            except ValueError:
                return None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Identity":
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            return cls()
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__}) if isinstance(data, dict) \
            else cls()


def read_identity(first_pages: str) -> Identity:
    """The identity a cover page states (any field it does not state is '')."""
    text = first_pages[:COVER_CHARS]
    form = _FORM.search(text)
    period = _PERIOD.search(_SPACE.sub(" ", text))
    kind = ""
    if period:
        kind = {"quarterly period": "quarter", "fiscal year": "fiscal year"}.get(period.group(1).lower(), "period")
    return Identity(_registrant(text), form.group(1).upper() if form else "", kind, period.group(2) if period else "")


def document_identity(first_pages: str) -> str:
    """'<company> Form <form>, <quarter|fiscal year> ended <date>' from a cover page, as much as it says; '' if
    it says none of it (an ordinary document: its file name is then the only label)."""
    return read_identity(first_pages).label()


def _registrant(text: str) -> str:
    m = _REGISTRANT.search(text) or _AFTER_FILE_NO.search(text)
    if not m:
        return ""
    # "Commission File Number 001-37622 ______ SQUARE, INC.": the name after the cover's rule of underscores
    name = re.split(r"_{3,}", m.group(1))[-1].strip(" _")
    if _NOT_NAME.search(name.lower()):
        return ""
    if name.isupper():  # "NVIDIA CORPORATION" -> "Nvidia Corporation"; the embedder is uncased, people are not
        name = " ".join(w.capitalize() if len(w) > 4 or w in ("INC.", "CORP", "INC", "CO.") else w
                        for w in name.split())
    return name
