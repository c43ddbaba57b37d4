"""Financial structure of a filing, known at ingest and read from questions: which pages are the statements
(balance sheet, income statement, cash flows, equity, comprehensive income), segment tables and MD&A, and
which of them a question needs. Pure functions, no I/O.

A statement page says what it is in its title, within its first few lines ("Consolidated Statement of Cash
Flows", "CONSOLIDATED BALANCE SHEETS", "合并资产负债表"), and it is a table: mostly figures. Titles are compared
with spaces removed, so the words a PDF splits ("Balance Shee t", "Cash Flow s") still match; a contents page,
which lists several statements (each with its page number), is not one of them.

A page's context, the statement's name, the title, the unit ("(in millions)") and the years of its columns, is
given to every passage of the page (as its section), so that a passage from the middle of the cash-flow
statement still reads as "cash flow statement, 2018 2017 2016, in millions".

A question needs a statement when it names one ("shown in the balance sheet") or a figure that lives in one
(capital expenditure: cash flows; working capital: balance sheet; operating margin: income statement); it
needs MD&A when it asks why something changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from rag.document import LoadedDocument
from rag.split import Chunk

__all__ = ["PageTag", "tag_pages", "with_structure", "asked_kinds", "KINDS", "MDNA", "title_kind"]

# kind -> how a passage's section names it
KINDS = {
    "balance": "Balance sheet",
    "income": "Income statement",
    "comprehensive": "Statement of comprehensive income",
    "cash_flows": "Cash flow statement",
    "equity": "Statement of equity",
    "segment": "Segment results",
}
MDNA = "mdna"

TOP_LINES = 6  # a title is among the first lines of its page (after running headers)
CONTEXT_CHARS = 100
_SPACE = re.compile(r"\s+")
_QUOTE = str.maketrans({"’": "'", "‘": "'", "–": "-", "—": "-"})
# Titles, matched at the start of a line with spaces removed and lower-cased.
_PREFIX = r"^(?:parentcompany-?)?(?:condensed)?(?:consolidated)?(?:combined)?"
_TITLES = [
    ("comprehensive", re.compile(_PREFIX + r"statements?of(?:consolidated)?comprehensive(?:income|earnings|loss)")),
    ("income", re.compile(_PREFIX + r"(?:statements?of(?:consolidated)?(?:operations|income|earnings|\(loss\)income)"
                          r"|income ?statements?|profitandloss)".replace(" ", ""))),
    ("cash_flows", re.compile(_PREFIX + r"statements?of(?:consolidated)?cashflows?")),
    ("balance", re.compile(_PREFIX + r"(?:balancesheets?|statements?of(?:consolidated)?financial(?:position|condition))")),
    ("equity", re.compile(_PREFIX + r"statements?of(?:changesin)?(?:total|stockholders'?|shareholders'?|owners'?|"
                          r"members'?|partners'?)?(?:deficit|equity)")),
]
_ZH_TITLES = [
    ("balance", re.compile(r"^(?:合并)?资产负债表")),
    ("income", re.compile(r"^(?:合并)?(?:利润表|损益表|利润及利润分配表)")),
    ("cash_flows", re.compile(r"^(?:合并)?现金流量表")),
    ("equity", re.compile(r"^(?:合并)?(?:所有者权益|股东权益)(?:变动)?表")),
]
_PAGE_REF = re.compile(r"(?:^|\s)(?:[A-Z]-)?\d{1,3}\s*$")  # "Consolidated Balance Sheets 53", "... F-4"
_NOT_TITLE = re.compile(r"^(?:note|supplemental|selected|notes|see|refer|the|our|in|as|amounts)", re.I)
_SEGMENT = re.compile(r"\bsegments?\b|分部", re.I)
_NUMBER = re.compile(r"^\(?-?\$?\(?[\d,]+(?:\.\d+)?\)?%?$")
_UNIT = re.compile(r"\bin (millions|thousands|billions)\b|\((millions|thousands|billions)\b|单位[:：]\s*(\S{1,6})", re.I)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_ITEM = re.compile(r"^item\s*(\d{1,2}[a-z]?)\s*[.:\-]", re.I)
_ZH_PART = re.compile(r"^第[一二三四五六七八九十\d]{1,3}[节章]")  # 第三节 管理层讨论与分析
_MDNA = re.compile(r"management'?s?discussionandanalysis|管理层讨论与分析")


@dataclass(frozen=True)
class PageTag:
    kind: str = ""  # a key of KINDS, or ""
    part: str = ""  # "mdna" when the page is in Management's Discussion and Analysis
    context: str = ""  # what every passage of the page is headed with ("" for an ordinary page)


def _squash(line: str) -> str:
    return _SPACE.sub("", line.translate(_QUOTE)).lower()


def title_kind(line: str) -> str:
    """The statement a line is the title of, or "": 'CONSOLIDATED STATEMENTS OF CASH FLOWS' -> cash_flows."""
    line = line.strip()
    if not line or len(line) > 140 or _NOT_TITLE.match(line) or _PAGE_REF.search(line):
        return ""
    squashed = _squash(line)
    for kind, pattern in _TITLES + _ZH_TITLES:
        if pattern.search(squashed):
            return kind
    return ""


def _numeric_share(text: str) -> float:
    words = text.split()
    return sum(1 for w in words if _NUMBER.match(w)) / len(words) if words else 0.0


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _page_kind(lines: list[str], text: str) -> tuple[str, str]:
    """(kind, title line) of one page, or ("", "")."""
    titled = {title_kind(line) for line in lines} - {""}
    if len(titled) >= 3:  # a contents page: it names the statements, it is none of them
        return "", ""
    if _numeric_share(text) < 0.15:  # a statement is a table of figures
        return "", ""
    for line in lines[:TOP_LINES]:
        kind = title_kind(line)
        if kind:
            return kind, line
    for line in lines[:TOP_LINES]:
        if _SEGMENT.search(line) and len(line) <= 90 and not _PAGE_REF.search(line):
            return "segment", line
    return "", ""


def _context(kind: str, title: str, lines: list[str]) -> str:
    """'Cash flow statement, 2018 2017 2016, in millions: Consolidated Statement of Cash Flows' (at most
    CONTEXT_CHARS: it heads every passage of the page, within the room kept for headers)."""
    top = " ".join(lines[:12])
    unit = _UNIT.search(top)
    years = " ".join(list(dict.fromkeys(_YEAR.findall(top)))[:4])
    head = f"{KINDS[kind]}, {years}" if years else KINDS[kind]
    if unit:
        amount = next(g for g in unit.groups() if g)
        head += f", in {amount.lower()}" if amount.isascii() else f", 单位 {amount}"
    context = f"{head}: {' '.join(title.split())}"
    return context if len(context) <= CONTEXT_CHARS else context[:CONTEXT_CHARS].rsplit(" ", 1)[0]


def tag_pages(pages: Sequence[str]) -> list[PageTag]:
    """One PageTag for each page's text, in order. MD&A runs from its Item heading to the next Item heading."""
    tags, in_mdna = [], False
    for text in pages:
        lines = _lines(text)
        mdna_here = in_mdna  # the page belongs to what it starts in, or to what starts at its top
        for i, line in enumerate(lines):
            squashed = _squash(line)
            heading = _ITEM.match(line) or _ZH_PART.match(squashed)
            if (heading or _MDNA.match(squashed)) and not _PAGE_REF.search(line):
                in_mdna = bool(_MDNA.search(squashed))
                mdna_here = in_mdna if i < TOP_LINES else mdna_here or in_mdna
        kind, title = _page_kind(lines, text)
        context = _context(kind, title, lines) if kind else ""
        tags.append(PageTag(kind, MDNA if mdna_here else "", context))
    return tags


def with_structure(doc: LoadedDocument, chunks: list[Chunk]) -> list[Chunk]:
    """Each chunk with what its page is (rag.statements): a statement's chunks are headed by its name, title, unit
    and years (as their section), and carry its kind and part for search to route questions to."""
    tags = dict(zip((p.number for p in doc.pages), tag_pages([p.text for p in doc.pages])))
    return [replace(c, section=t.context or c.section, kind=t.kind, part=t.part) if (t := tags.get(c.page)) else c
            for c in chunks]


# -- questions ------------------------------------------------------------------------------------------

def _words(*items: str) -> re.Pattern:
    return re.compile(r"(?<![a-z])(?:" + "|".join(items) + r")(?![a-z])", re.I)


_ASKED = [  # (kinds, what names them or a figure that lives in them)
    (("cash_flows",), _words(r"cash[- ]?flows?(?: statements?)?", r"statements? of cash flows?", r"capex",
                             r"capital expenditures?", r"capital spending", r"free cash ?flows?", r"fcf",
                             r"cash (?:from|provided by|used in) (?:operations|operating|investing|financing)",
                             r"operating cash", r"purchases? of property", r"dividends? paid", r"share repurchases?",
                             r"buybacks?", r"capital[- ]intensive", r"capital intensity")),
    (("balance",), _words(r"balance sheets?", r"statements? of financial (?:position|condition)", r"financial position",
                          r"working capital", r"current ratio", r"quick ratio", r"current (?:assets|liabilities)",
                          r"total (?:assets|liabilities|equity|debt)", r"liabilit(?:y|ies)", r"inventor(?:y|ies)",
                          r"accounts (?:payable|receivable)", r"receivables?", r"payables?", r"pp&e",
                          r"property,? plant(?: and|,| &) equipment", r"fixed assets?", r"asset turnover",
                          r"book value", r"liquidity", r"solvency", r"leverage", r"debt[- ]to[- ]equity",
                          r"days (?:payable|sales|inventory) outstanding", r"dpo", r"dso", r"dio",
                          r"return on (?:assets|equity)", r"roa", r"roe", r"capital[- ]intensive",
                          r"cash and cash equivalents", r"shareholders'? equity", r"stockholders'? equity")),
    (("income",), _words(r"income statements?", r"statements? of (?:operations|income|earnings)", r"p&l",
                         r"profit and loss", r"revenues?", r"net sales", r"total sales", r"sales", r"turnover",
                         r"cogs", r"cost of (?:goods sold|sales|revenues?)", r"gross (?:margin|profit)",
                         r"operating (?:margin|income|profit|expenses?)", r"ebitda?", r"net (?:income|earnings|profit)",
                         r"eps", r"earnings per share", r"interest expense", r"sg&a", r"r&d",
                         r"research and development", r"(?:profit|net|ebitda?) margins?", r"return on (?:assets|equity)",
                         r"asset turnover", r"days (?:payable|sales|inventory) outstanding", r"dpo", r"dso", r"dio",
                         r"capital[- ]intensive", r"capital intensity", r"interest coverage")),
    (("equity",), _words(r"statements? of (?:changes in )?(?:stockholders'?|shareholders'?)? ?equity",
                         r"retained earnings", r"dividends? (?:declared|per share)")),
    (("comprehensive",), _words(r"comprehensive income", r"other comprehensive")),
    (("segment",), _words(r"segments?", r"business units?", r"divisions?", r"reportable")),
    ((MDNA,), _words(r"drove", r"drivers?", r"driven", r"why", r"reasons?", r"explain\w*", r"due to", r"because",
                     r"md&a", r"management'?s discussion", r"effective tax rate", r"outlook")),
]
_ZH_ASKED = [
    (("cash_flows",), re.compile(r"现金流|资本支出|资本开支|经营活动")),
    (("balance",), re.compile(r"资产负债|营运资本|营运资金|流动比率|速动比率|总资产|负债|存货|应收|应付|净资产")),
    (("income",), re.compile(r"利润表|损益|营业收入|营收|收入|净利润|毛利|营业利润|每股收益|费用")),
    (("equity",), re.compile(r"所有者权益|股东权益|分红|股利")),
    (("segment",), re.compile(r"分部|板块|业务线")),
    ((MDNA,), re.compile(r"原因|为什么|为何|驱动|导致|管理层讨论")),
]


_NAMED = [
    ("cash_flows", re.compile(r"cash ?flows? statements?|statements? of (?:consolidated )?cash ?flows?|现金流量表", re.I)),
    ("balance", re.compile(r"balance ?sheets?|statements? of (?:consolidated )?financial (?:position|condition)|资产负债表",
                           re.I)),
    ("comprehensive", re.compile(r"statements? of (?:consolidated )?comprehensive (?:income|loss)", re.I)),
    ("income", re.compile(r"income statements?|statements? of (?:consolidated )?(?:operations|income|earnings)"
                          r"|p&l|profit and loss statements?|利润表|损益表", re.I)),
    ("equity", re.compile(r"statements? of (?:changes in )?(?:stockholders'?|shareholders'?|owners'?)? ?equity"
                          r"|(?:所有者|股东)权益变动表", re.I)),
]


def asked_kinds(question: str) -> tuple[str, ...]:
    """The statements (KINDS keys) and "mdna" a question names or needs; () for none.

    A question that names a statement ("in the cash flow statement") is answered from it; otherwise every
    statement that holds one of its figures is wanted ("capital-intensive": cash flows, balance sheet, income)."""
    text = question.translate(_QUOTE)
    named = [kind for kind, pattern in _NAMED if pattern.search(text)]
    if named:
        return tuple(named)
    out = [kind for kinds, pattern in _ASKED + _ZH_ASKED if pattern.search(text) for kind in kinds]
    return tuple(dict.fromkeys(out))
