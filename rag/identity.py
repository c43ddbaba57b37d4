"""Who and when a document is about, read from its cover page, for the header every chunk is embedded with.

A passage such as "Total net sales 81,797" reads the same in four quarterly reports of one company; only
the document around it says which. So the text that is embedded and BM25-indexed for each chunk starts
with the document's identity (contextual chunk headers), e.g. "Apple Inc. Form 10-Q, quarter ended
July 1, 2023"; the chunk's shown and cited text stays as it is. Pure functions, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["document_identity"]

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
_NOT_NAME = re.compile(r"^[\s_\-–—]*$|commission file|^\d")


def document_identity(first_pages: str) -> str:
    """'<company> Form <form>, <quarter|fiscal year> ended <date>' from a cover page, as much as it says; '' if
    it says none of it (an ordinary document: its file name is then the only label)."""
    text = first_pages[:COVER_CHARS]
    form = _FORM.search(text)
    who = " ".join(p for p in (_registrant(text), f"Form {form.group(1).upper()}" if form else "") if p)
    parts = [who] if who else []
    period = _PERIOD.search(_SPACE.sub(" ", text))
    if period:
        kind = {"quarterly period": "quarter", "fiscal year": "fiscal year"}.get(period.group(1).lower(), "period")
        parts.append(f"{kind} ended {period.group(2)}")
    return ", ".join(parts)[:MAX_IDENTITY].rstrip(" ,")


def _registrant(text: str) -> str:
    m = _REGISTRANT.search(text) or _AFTER_FILE_NO.search(text)
    if not m:
        return ""
    name = m.group(1).strip(" _")
    if _NOT_NAME.search(name.lower()):
        return ""
    if name.isupper():  # "NVIDIA CORPORATION" -> "Nvidia Corporation"; the embedder is uncased, people are not
        name = " ".join(w.capitalize() if len(w) > 4 or w in ("INC.", "CORP", "INC", "CO.") else w
                        for w in name.split())
    return name
