"""Figures in text: amounts, percentages, counts, dates, years and fiscal periods, parsed with their span and
compared the way an analyst would. Pure functions, tested with literal strings (tests/test_figures.py).

Rules, explicit because a wrong "grounded" is worse than a wrong "not in the sources":
- A figure is its written value times its scale word ($81.8 billion = 81.8e9; 1.2亿 = 1.2e8; 3万 = 3e4) and
  carries the precision it is written with (81.8 billion: 0.1e9). It matches a source figure when it is that
  figure rounded to its own shown precision: 81.8 billion grounds 81,797 million (|81.8e9 - 81.797e9| is at
  most half of 0.1e9); 81,797 million is not grounded by a source that says only 81.8 billion.
- (1,234) is -1,234; magnitudes are compared, since prose states the sign in words ("a loss of $1,234").
- Percentages match percentages only: 12.3% is never 0.123.
- A source's bare number reads in the unit its passage declares ("in millions"); in a passage that declares
  none, a grouped number (81,797) may also read as thousands or millions, the units of financial statements.
- Dates match the same day (a month-year, the same month); a fiscal quarter the same quarter and year; a year
  or fiscal year any figure of that year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Figure", "parse_figures", "passage_scales", "grounds", "SCALES"]

SCALES = {"thousand": 1e3, "thousands": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "m": 1e6,
          "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "trillions": 1e12,
          "万": 1e4, "亿": 1e8, "万亿": 1e12, "千万": 1e7, "百万": 1e6, "千": 1e3}
_MONTHS = {m: i for i, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
     "sep sept september", "oct october", "nov november", "dec december"], 1) for m in names.split()}
_MONTH = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?" \
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATES = [re.compile(p, re.I) for p in (
    r"\b" + _MONTH + r"\s+(?P<day>\d{1,2}),?\s+(?P<year>(?:19|20)\d\d)\b",
    r"\b(?P<day>\d{1,2})\s+" + _MONTH + r",?\s+(?P<year>(?:19|20)\d\d)\b",
    r"\b(?P<year>(?:19|20)\d\d)-(?P<mnum>\d\d)-(?P<day>\d\d)\b",
    r"(?P<year>(?:19|20)\d\d)\s*年\s*(?P<mnum>\d{1,2})\s*月(?:\s*(?P<day>\d{1,2})\s*日)?",
    r"\b" + _MONTH + r",?\s+(?P<year>(?:19|20)\d\d)\b")]
_ORD = {"first": 1, "second": 2, "third": 3, "fourth": 4, "一": 1, "二": 2, "三": 3, "四": 4}
_YEAR = r"(?:FY\s*|fiscal\s+(?:year\s+)?)?'?(?P<year>(?:19|20)\d\d|\d\d)\b"
_PERIODS = [re.compile(p, re.I) for p in (
    r"\bQ(?P<q>[1-4])\s*(?:of\s+)?" + _YEAR,
    r"\b(?P<q>[1-4])Q\s*" + _YEAR,
    r"\bFY\s*'?(?P<year>(?:19|20)\d\d|\d\d)\s*Q(?P<q>[1-4])\b",
    r"\b(?P<q>first|second|third|fourth)\s+(?:fiscal\s+)?quarter\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?"
    r"(?P<year>(?:19|20)\d\d)\b",
    r"(?P<year>(?:19|20)\d\d)\s*(?:财年|财政年度|年)?\s*第?(?P<q>[一二三四1-4])\s*季度",
    r"(?:\bFY\s*'?|\bfiscal\s+(?:year\s+)?)(?P<year>(?:19|20)\d\d|\d\d)\b",
    r"(?P<year>(?:19|20)\d\d)\s*(?:财年|财政年度|年)")]
_NUMBER = re.compile(
    r"(?P<open>\()?(?P<neg>[-−])?(?:(?P<cur>US\$|HK\$|\$|€|£|¥|￥|RMB|USD)[ \u00a0]?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:[ \u00a0]?(?P<word>万亿|千万|百万|亿|万|thousands?\b|millions?\b|billions?\b|trillions?\b)"
    r"|(?P<letter>mn|bn|[kmb])(?![a-z]))?"
    r"(?P<yuan>元|美元)?(?P<pct>[ \u00a0]?(?:%|％|percent\b|per cent\b|个百分点))?(?P<close>\))?", re.I)
_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")
_PAGE_REF = re.compile(r"(?:\bpages?|\bp\.|\bpp\.|第)\s*$", re.I)
_DECLARED = re.compile(r"\bin\s+(thousands|millions|billions)\b|\((thousands|millions|billions)\)|"
                       r"单位[:：]?\s*(?:人民币)?\s*(千|万|百万|亿)?元", re.I)


@dataclass(frozen=True)
class Figure:
    text: str  # as written
    start: int
    end: int
    kind: str  # amount | percent | count | date | year | period
    value: float  # amounts, percents, counts: signed and scaled; date yyyymmdd (dd 0: a month); year; period y*10+q
    precision: float = 1.0  # one step of the last written digit, scaled
    scaled: bool = False  # written with a scale word (million, 亿, ...)
    grouped: bool = False  # written with thousands separators

    @property
    def year(self) -> int:
        return int(self.value // 10000 if self.kind == "date" else self.value // 10 if self.kind == "period"
                   else self.value)

    def normalised(self) -> float | str:
        """The value in one form: a number, an ISO date (yyyy-mm for a month), FY2023 or 2023-Q3, a year."""
        v = int(self.value) if self.kind in ("date", "period", "year") else self.value
        if self.kind == "date":
            return f"{v // 10000:04d}-{v // 100 % 100:02d}" + (f"-{v % 100:02d}" if v % 100 else "")
        if self.kind == "period":
            return f"{v // 10}-Q{v % 10}" if v % 10 else f"FY{v // 10}"
        return v if self.kind == "year" else self.value


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 else y


def _spans(text: str) -> list[Figure]:
    found = []
    for rx in _DATES:
        for m in rx.finditer(text):
            month = _MONTHS[m["mon"].lower()] if m.groupdict().get("mon") else int(m["mnum"])
            day = int(m["day"]) if m.groupdict().get("day") else 0
            if 1 <= month <= 12 and day <= 31:
                found.append(Figure(m[0], m.start(), m.end(), "date", _year(m["year"]) * 10000 + month * 100 + day))
    for rx in _PERIODS:
        for m in rx.finditer(text):
            q = m.groupdict().get("q")
            q = _ORD.get(q.lower(), 0) if q and not q.isdigit() else int(q or 0)
            kind = "period" if q or "年" not in m[0] or "财" in m[0] else "year"
            value = _year(m["year"]) * 10 + q if kind == "period" else _year(m["year"])
            found.append(Figure(m[0], m.start(), m.end(), kind, value))
    return found


def _number(text: str, m: re.Match) -> Figure | None:
    start, end = m.start(), m.end()
    neg = bool(m["neg"]) or bool(m["open"] and m["close"])
    pct = m["pct"] or (re.match(r"[ \u00a0]?[%％]", text[end:end + 2]) if m["open"] and m["close"] else None)  # (3)%
    if pct and not m["pct"]:
        end += len(pct[0])
    if m["open"] and not m["close"]:
        start += 1
    if m["close"] and not m["open"]:
        end = m.end("close") - 1
    lead = start + (1 if m["neg"] and not m["open"] else 0)
    before, after = text[max(0, start - 1):start], text[end:end + 2]
    if m["neg"] and re.match(r"[A-Za-z0-9]", before):  # a range (2021-2022), not a minus sign
        start, neg = start + 1, False
    elif re.match(r"[A-Za-z0-9._/#]", before):
        return None  # part of a word or code: Q3, S3, v1.2
    if re.match(r"-?[A-Za-z]", after) and not (m["word"] or m["letter"] or pct or m["yuan"]):
        return None  # 10-Q, 3rd, x86
    if _PAGE_REF.search(text[max(0, lead - 6):lead]):
        return None  # page 6, p. 6
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip(" \t*-(") and re.match(r"[.)]\s", text[m.end("num"):m.end("num") + 2]):
        return None  # a list marker: "1. ", "2) "
    digits = m["num"]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = SCALES[(m["word"] or m["letter"] or "").lower()] if (m["word"] or m["letter"]) else 1.0
    value = float(digits.replace(",", "")) * scale
    if pct:
        kind = "percent"
    elif m["cur"] or m["yuan"] or scale != 1.0:
        kind = "amount"
    elif not decimals and "," not in digits and len(digits) == 4 and 1900 <= value <= 2100:
        kind = "year"
    else:
        kind = "count"
    signed = -value if neg and kind != "year" else value
    return Figure(text[start:end], start, end, kind, signed, scale * 10 ** -decimals, scale != 1.0, "," in digits)


def parse_figures(text: str) -> list[Figure]:
    """Every figure in the text, in order, none overlapping (a date or period wins over the numbers in it)."""
    taken = [(m.start(), m.end()) for m in _CITATION.finditer(text)]
    out = []
    for f in sorted(_spans(text), key=lambda f: (f.start, -(f.end - f.start))):
        if all(f.end <= a or f.start >= b for a, b in taken):
            taken.append((f.start, f.end))
            out.append(f)
    for m in _NUMBER.finditer(text):
        f = _number(text, m)
        if f is not None and all(f.end <= a or f.start >= b for a, b in taken):
            out.append(f)
    return sorted(out, key=lambda f: f.start)


def passage_scales(text: str) -> tuple[float, ...]:
    """The units a passage declares for its bare numbers ("in millions", 单位：万元); empty when it declares none."""
    declared = set()
    for m in _DECLARED.finditer(text):
        word = (m[1] or m[2] or "").lower()
        declared.add(SCALES[word] if word else SCALES.get(m[3] or "", 1.0))
    return tuple(sorted(declared))


def grounds(source: Figure, figure: Figure, scales: tuple[float, ...] = ()) -> bool:
    """Whether a source figure supports the figure (see the module's rules); scales: the source passage's units."""
    if figure.kind in ("amount", "count"):
        if source.kind not in ("amount", "count"):
            return False
        implied = scales or ((1e3, 1e6) if source.grouped else ())
        reads = (1.0,) if source.scaled else (1.0, *implied)
        return any(_rounds_to(figure, abs(source.value) * k) for k in reads)
    if figure.kind == "percent":
        return source.kind == "percent" and _rounds_to(figure, abs(source.value))
    if figure.kind == "date":
        if source.kind != "date":
            return False
        a, s = int(figure.value), int(source.value)
        return a // 100 == s // 100 and (a % 100 == 0 or a % 100 == s % 100)
    if figure.kind == "period" and figure.value % 10:
        return source.kind == "period" and source.value == figure.value
    return source.kind in ("date", "year", "period") and source.year == figure.year


def _rounds_to(figure: Figure, value: float) -> bool:
    """The figure is the value rounded to the figure's shown precision."""
    return abs(abs(figure.value) - value) <= figure.precision / 2 * (1 + 1e-9)
