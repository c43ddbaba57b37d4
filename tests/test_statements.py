"""Financial structure: statement pages recognised by their titles, questions routed to them (rag.statements), and
pages ranked by the rankings of their passages (rag.retrieve). Pure functions, no model; the last test reads a real
10-Q."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.retrieve import page_fusion, rrf, spread
from rag.statements import MDNA, asked_kinds, tag_pages, title_kind

DATA = Path(__file__).parent / "data"

CASH_FLOWS = """Table of Contents
3M Company and Subsidiaries
Consolidated Statement of Cash Flow s
Years ended December 31
(Millions) 2018 2017 2016
Cash Flows from Operating Activities
Net income including noncontrolling interest $ 5,363 $ 4,869 $ 5,058
Depreciation and amortization 1,488 1,544 1,474
Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)
Net cash provided by operating activities 6,439 6,240 6,662"""

BALANCE = """Table of Contents
Consolidated Balance Shee t
At December 31
(Dollars in millions, except per share amount) 2018 2017
Assets
Cash and cash equivalents $ 2,853 $ 3,053
Total current assets 13,709 14,277
Total current liabilities 7,244 7,687"""

CONTENTS = """Index to Financial Statements
Consolidated Statement of Income for the years ended December 31, 2018, 2017 and 2016 56
Consolidated Statement of Comprehensive Income 57
Consolidated Balance Sheet at December 31, 2018 and 2017 58
Consolidated Statement of Cash Flows 60
Notes 61"""

PROSE = """Table of Contents
Liquidity
Our consolidated statements of cash flows show that cash provided by operating activities rose in 2018 because
working capital needs fell, as the discussion below explains in more detail for each of the segments."""


@pytest.mark.parametrize("line, kind", [
    ("CONSOLIDATED STATEMENTS OF OPERATIONS", "income"),
    ("Consolidated Statement of Income", "income"),
    ("Consolidated Statements of Earnings", "income"),
    ("CONDENSED CONSOLIDATED STATEMENTS OF COMPREHENSIVE INCOME (Unaudited)", "comprehensive"),
    ("Consolidated Balance Shee t", "balance"),  # a word the PDF split
    ("Consolidated Statements of Financial Position", "balance"),
    ("CONSOLIDATED STATEMENTS OF CASH FLOWS", "cash_flows"),
    ("Consolidated Statement of Cash Flow s", "cash_flows"),
    ("CONSOLIDATED STATEMENTS OF CHANGES IN SHAREHOLDERS’ EQUITY", "equity"),
    ("Consolidated Statements of Total Equity and Redeemable Interest", "equity"),
    ("合并资产负债表", "balance"),
    ("合并利润表", "income"),
    ("合并现金流量表", "cash_flows"),
    ("Consolidated Balance Sheets 53", ""),  # a contents line: it ends with its page number
    ("Consolidated Balance Sheets at December 31, 2019 and 2018 F-4", ""),
    ("NOTE 7. Supplemental Balance Sheet Information", ""),
    ("Selected income statement data", ""),
    ("Our consolidated statements of cash flows show", ""),
])
def test_a_statement_is_known_by_its_title(line, kind):
    assert title_kind(line) == kind


def test_statement_pages_are_tagged_and_their_passages_headed_with_name_years_and_unit():
    tags = tag_pages([CONTENTS, CASH_FLOWS, BALANCE, PROSE])
    assert [t.kind for t in tags] == ["", "cash_flows", "balance", ""]  # contents and prose are neither
    assert tags[1].context == ("Cash flow statement, 2018 2017 2016, in millions: Consolidated Statement of Cash "
                               "Flow s")
    assert tags[2].context.startswith("Balance sheet, 2018 2017, in millions: ")
    assert tags[0].context == tags[3].context == ""


def test_mdna_runs_from_its_item_heading_to_the_next():
    contents = "Item 7. Management's Discussion and Analysis 25\nItem 8. Financial Statements 50"
    pages = [contents, "Item 7. Management’s Discussion and Analysis of Financial Condition\nOverview", "Results",
             "Item 7A. Quantitative and Qualitative Disclosures About Market Risk", "Item 8. Financial Statements"]
    assert [t.part for t in tag_pages(pages)] == ["", MDNA, MDNA, "", ""]
    zh = ["第三节 管理层讨论与分析\n一、概述", "二、主营业务分析", "第四节 公司治理"]
    assert [t.part for t in tag_pages(zh)] == [MDNA, MDNA, ""]


@pytest.mark.parametrize("question, kinds", [
    ("Relying on the cash flow statement, what was the capital expenditure in FY2018?", ("cash_flows",)),
    ("Using the balance sheet, what is the working capital ratio?", ("balance",)),
    ("What is the FY2019 capex as a share of revenue?", ("cash_flows", "income")),
    ("What was the quick ratio in FY2022?", ("balance",)),
    ("Is the company capital-intensive?", ("cash_flows", "balance", "income")),
    ("What drove the change in operating margin?", ("income", MDNA)),
    ("Which segment grew fastest?", ("segment",)),
    ("根据现金流量表,2022年经营活动现金流是多少?", ("cash_flows",)),
    ("Who is the chief executive officer?", ()),
])
def test_a_question_is_routed_to_the_statements_it_needs(question, kinds):
    assert asked_kinds(question) == kinds


def test_pages_are_ranked_by_the_votes_of_each_ranking_not_by_how_many_passages_they_have():
    page_of = {"a1": ("a", 1), "a2": ("a", 1), "b1": ("b", 2), "c1": ("c", 3)}
    dense, bm25 = ["a1", "a2", "b1", "c1"], ["b1", "a2", "c1"]
    fused = rrf([dense, bm25])
    ranked = page_fusion([dense, bm25], None, page_of, fused)
    # page a holds two passages near the top of dense, but counts once there; b is first in BM25 and third in dense
    assert [key for key, _ in ranked] == ["a2", "b1", "c1"]  # a's best passage by the passages' own fusion: a2
    assert ranked[0][1] == pytest.approx(1 / 61 + 1 / 62) and ranked[1][1] == pytest.approx(1 / 62 + 1 / 61)
    weighted = page_fusion([dense, bm25], [1.0, 3.0], page_of, fused)
    assert [key for key, _ in weighted][0] == "b1"
    assert page_fusion([["x"]], None, {}, [("x", 1.0)]) == []  # a passage gone from the index has no page


def test_spread_gives_each_named_document_its_best_page_among_the_k():
    order = ["a1", "a2", "a3", "b1", "c1"]
    assert spread(order, lambda p: p[0], ["a", "b", "c"], 3) == ["a1", "b1", "c1"]
    assert spread(order, lambda p: p[0], ["a", "b"], 4) == ["a1", "a2", "a3", "b1"]
    assert spread(order, lambda p: p[0], ["a", "z"], 2) == ["a1", "a2"]  # z has no page: nothing to keep a place for


def test_a_weighted_ranking_counts_more_in_the_fusion():
    assert [key for key, _ in rrf([["x"], ["y"]])] == ["x", "y"]  # a tie keeps the first seen
    assert [key for key, _ in rrf([["x"], ["y"]], weights=[1.0, 2.0])] == ["y", "x"]


def test_a_real_10q_has_its_statements_and_mdna_tagged():
    from rag.document import Limits
    from rag.pdf import read_pdf

    path = DATA / "aapl-2022-q3-10q.pdf"
    doc = read_pdf(path, path.read_bytes()[:1024], limits=Limits(), ocr=None)
    tags = tag_pages([p.text for p in doc.pages])
    kinds = {t.kind: p.number for p, t in zip(doc.pages, tags) if t.kind}
    assert kinds == {"income": 4, "comprehensive": 5, "balance": 6, "equity": 7, "cash_flows": 8, "segment": 16}
    assert tags[3].context.startswith("Income statement, 2022 2021, in millions: CONDENSED CONSOLIDATED STATEMENTS")
    assert [p.number for p, t in zip(doc.pages, tags) if t.part == MDNA][:1] == [17]


def test_an_indexed_statement_carries_its_kind_and_a_question_naming_it_finds_it(tmp_path, embedder):
    """Through the real Library: the 10-Q's cash-flow page is tagged in Chroma and headed in every passage; a
    question that names the statement lands on it, and so do questions that only name a figure the statements
    hold, which without routing land elsewhere (MD&A, notes)."""
    from rag import Catalog, Library, Store, open_chroma

    lib = Library(catalog=Catalog(tmp_path / "catalog.sqlite3"), store=Store(open_chroma(tmp_path / "chroma"), "c"),
                  embedder=embedder, collection="c")
    (r,) = list(lib.ingest([DATA / "aapl-2022-q3-10q.pdf"]))
    found = lib.store.get([f"{r.doc_id}:{i}" for i in range(r.chunks)])
    on_page_8 = [meta for _, meta, _ in found.values() if meta["page"] == 8]
    assert on_page_8 and all(m["kind"] == "cash_flows" and m["section"].startswith("Cash flow statement, 2022 2021")
                             for m in on_page_8)
    assert {m["part"] for _, m, _ in found.values() if m["page"] in (18, 19)} == {MDNA}
    vector = embedder.embed(["cash paid for property and equipment"])[0]
    by_chroma = lib.store.query_ids(vector, 4, None, None, {"kind": ["cash_flows", "balance"]})  # a filtered query
    assert lib.store.statements_within(vector, 4, [r.doc_id], ["cash_flows", "balance"]) == by_chroma  # in memory
    assert lib.store.statements_within(vector, 4, [r.doc_id], ["no such kind"]) == []
    assert lib.search("According to the cash flow statement, how much did Apple pay for dividends?", k=3)[0].page == 8
    for question, page in (("What was Apple's capital expenditure in the first nine months of 2022?", 8),
                           ("What was the working capital at the end of the quarter?", 6),
                           ("What was the gross margin in the third quarter of 2022?", 4)):
        assert lib.search(question, k=3)[0].page == page
        assert lib.search(question, k=3, route=False)[0].page != page
