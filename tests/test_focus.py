"""Questions that name a company or period are steered to the documents that match (rag/focus.py):
parsing is tested without a model; the steer with real PDFs, the real embedder and real Chroma on disk."""

import sqlite3
from datetime import date

import pytest

from conftest import make_pdf
from rag import Catalog, Library, Store, open_chroma
from rag.focus import Asked, DocAbout, doc_quarter, file_quarter, focus, read_question
from rag.identity import Identity


@pytest.mark.parametrize("question, asked", [
    ("What was Apple's gross margin in Q2 2023?", Asked(quarter=(2023, 2))),
    ("In the 2023 Q3 10-Q, what changed?", Asked(quarter=(2023, 3))),
    ("Revenue in the second quarter of fiscal 2024", Asked(quarter=(2024, 2))),
    ("the first quarter of 2023", Asked(quarter=(2023, 1))),
    ("Q4 FY24 operating income", Asked(quarter=(2024, 4))),
    ("英特尔2023年第一季度的营业收入是多少?", Asked(quarter=(2023, 1))),
    ("cash flow for the quarter ended July 1, 2023", Asked(ended=date(2023, 7, 1))),
    ("What was NVIDIA's gross margin in the most recent 10-Q?", Asked(latest=True)),
    ("For the latest quarter, what was iPhone revenue?", Asked(latest=True)),
    ("苹果最新的季度报告说了什么", Asked(latest=True)),
    ("How did sales develop in fiscal 2023?", Asked(year=2023)),
    ("What did revenue do compared to last quarter?", Asked()),  # relative, not a document
    ("What are the main risk factors?", Asked()),
])
def test_the_period_a_question_names(question, asked):
    assert read_question(question) == asked


def test_a_documents_quarter_is_its_file_names_else_the_calendar_quarter_its_period_ended_in():
    assert file_quarter("2023 Q2 AAPL.pdf") == (2023, 2)
    assert file_quarter("aapl_q3-2022.pdf") == (2022, 3)
    assert file_quarter("annual report 2023.pdf") is None
    # Apple's fiscal Q3 ends on July 1: the file name's label wins over the calendar
    assert doc_quarter(DocAbout("a", "2023 Q3 AAPL.pdf", Identity("Apple Inc.", "10-Q", "quarter", "July 1, 2023"))) \
        == (2023, 3)
    assert doc_quarter(DocAbout("a", "apple.pdf", Identity("Apple Inc.", "10-Q", "quarter", "July 1, 2023"))) \
        == (2023, 2)
    assert doc_quarter(DocAbout("a", "intel.pdf", Identity("Intel Corporation", "10-Q", "quarter", "October 1, 2022"))) \
        == (2022, 3)
    assert doc_quarter(DocAbout("a", "msft.pdf", Identity("Microsoft Corporation", "10-Q", "quarter",
                                                          "December 31, 2022"))) == (2022, 4)
    assert doc_quarter(DocAbout("a", "minutes.pdf")) is None


ENDS = {1: "December 31, 2022", 2: "April 1, 2023", 3: "July 1, 2023"}
DOCS = [DocAbout(f"{t}{q}", f"2023 Q{q} {t}.pdf", Identity(name, "10-Q", "quarter", ENDS[q]))
        for t, name in (("AAPL", "Apple Inc."), ("AMZN", "Amazon.com, Inc."), ("NVDA", "NVIDIA CORPORATION"))
        for q in (1, 2, 3)] + [DocAbout("memo", "board memo.pdf")]


@pytest.mark.parametrize("question, ids", [
    ("What was Apple's gross margin in Q2 2023?", ["AAPL2"]),
    ("How did Amazon's AWS revenue change in the first quarter of 2023?", ["AMZN1"]),
    ("What was Nvidia's data center revenue in the most recent 10-Q?", ["NVDA3"]),
    ("In the latest 10-Q, how did AAPL and AMZN describe currency risk?", ["AAPL3", "AMZN3"]),
    ("How did Apple's margin in the most recent quarter compare to previous quarters?", ["AAPL1", "AAPL2", "AAPL3"]),
    ("How has Amazon's net sales changed over time?", ["AMZN1", "AMZN2", "AMZN3"]),
    ("What was reported for the quarter ended April 1, 2023?", ["AAPL2", "AMZN2", "NVDA2"]),
    ("What were the risks in the latest quarterly filing?", ["AAPL3", "AMZN3", "NVDA3"]),
    ("What does the board memo say about travel?", None),  # names no company or period
    ("How do the companies compare on research spending?", None),
    ("What did the applesauce report say?", None),  # a name only as part of a word
])
def test_which_documents_a_question_is_about(question, ids):
    assert focus(question, DOCS) == ids


def test_a_named_company_stays_the_focus_when_none_of_its_filings_ends_in_the_year_asked():
    """'FY2019 - FY2020 growth for Block' over Block's 2020 10-K (which holds the 2019 column) and another company's
    2019 10-K: the company it names, not the year's other filing. Names that start with a digit ('3M') and names
    whose legal form had an '&' ('JPMorgan Chase & Co.') are names too."""
    docs = [DocAbout("sq", "f1.pdf", Identity("Square, Inc.", "10-K", "fiscal year", "December 31, 2020")),
            DocAbout("atvi", "f2.pdf", Identity("Activision Blizzard, Inc.", "10-K", "fiscal year", "December 31, 2019")),
            DocAbout("mmm", "f3.pdf", Identity("3M Company", "10-K", "fiscal year", "December 31, 2018")),
            DocAbout("jpm", "f4.pdf", Identity("JPMorgan Chase & Co.", "10-Q", "quarter", "March 31, 2021"))]
    assert focus("What is the FY2019 - FY2020 revenue growth for Block (formerly known as Square)?", docs) == ["sq"]
    assert focus("What was 3M's capital expenditure in FY2018?", docs) == ["mmm"]
    assert focus("Which of JPMorgan Chase's segments earned most?", docs) == ["jpm"]
    assert focus("What was the total revenue in FY2019?", docs) == ["atvi"]  # no company named: the year's filing


def test_focus_steers_nothing_when_it_would_pick_every_document():
    only_apple = [d for d in DOCS if d.doc_id.startswith("AAPL")]
    assert focus("What did Apple say about the iPhone?", only_apple) is None
    assert focus("Apple in Q2 2023", only_apple) == ["AAPL2"]
    assert focus("anything", []) is None


def _cover(company: str, ended: str) -> str:
    return (f"UNITED STATES\nSECURITIES AND EXCHANGE COMMISSION\nFORM 10-Q\nFor the quarterly period ended {ended}\n"
            f"Commission File Number: 001-00001\n{company}\n(Exact name of registrant as specified in its charter)")


BODY = ("Net sales of the widget segment were {n} million dollars for the three months, and operating expenses "
        "rose on research and development of new widgets.")


def _library(data, embedder, **kw) -> Library:
    return Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "default"),
                   embedder=embedder, collection="default", chunk_size=150, chunk_overlap=0, **kw)


@pytest.fixture
def quarters(tmp_path):
    """Three quarterly reports of one company whose pages read alike but for the figures, and one of another; the
    file names do not say the quarter (the cover's period end does)."""
    files = []
    for q, (ended, n) in enumerate((("April 1, 2023", 410), ("July 1, 2023", 420), ("September 30, 2023", 430)), 1):
        files.append(make_pdf(tmp_path / f"acme-{'abc'[q - 1]}.pdf", [_cover("Acme Widgets Inc.", ended),
                                                                  BODY.format(n=n)]))
    files.append(make_pdf(tmp_path / "globex.pdf", [_cover("Globex Corporation", "July 1, 2023"), BODY.format(n=990)]))
    return files


def test_a_question_naming_a_quarter_finds_that_quarters_report(tmp_path, embedder, quarters):
    """Without the steer, BM25 ranks the April report first for 'Q2 2023' and every mode ranks the July one first for
    'the latest 10-Q' (measured when this test was written); with it, each finds its report in every mode."""
    lib = _library(tmp_path / "data", embedder)
    assert [r.status for r in lib.ingest(quarters)] == ["indexed"] * 4
    ids = {d.file: d.doc_id for d in lib.documents()}
    assert Identity.from_json(lib.catalog.get("default", ids["acme-b.pdf"]).identity) == \
        Identity("Acme Widgets Inc.", "10-Q", "quarter", "July 1, 2023")
    for question, file in (("What were Acme's widget net sales in Q2 2023?", "acme-b.pdf"),
                           ("What were Acme's widget net sales in the latest 10-Q?", "acme-c.pdf")):
        assert lib.focus_of(question) == [ids[file]]
        for options in ({}, {"dense": False}, {"lexical": False}):
            hits = lib.search(question, k=2, **options)
            assert (hits[0].file, hits[0].page) == (file, 2), (question, options)
    assert lib.search("What were Globex's widget sales for the most recent quarter?", k=1)[0].file == "globex.pdf"
    question = "What were Acme's widget net sales in Q2 2023?"
    scoped = lib.search(question, k=8, doc_ids=[ids["globex.pdf"]])  # a scope still bounds the search
    assert {h.file for h in scoped} == {"globex.pdf"}
    off = _library(tmp_path / "data", embedder, focus=False)
    assert off.search(question, k=8, dense=False)[0].file != "acme-b.pdf"  # what the steer changes


def test_an_index_made_before_identities_were_kept_reads_them_from_its_chunks(tmp_path, embedder, quarters):
    data = tmp_path / "data"
    list(_library(data, embedder).ingest(quarters))
    db = sqlite3.connect(data / "catalog.sqlite3")  # the older schema: no identity column
    db.execute("ALTER TABLE documents DROP COLUMN identity")
    db.commit()
    db.close()
    again = _library(data, embedder)
    assert {d.file: Identity.from_json(d.identity) for d in again.documents()} == {d.file: Identity() for d in
                                                                                   again.documents()}
    abouts = {a.file: a.identity for a in again.abouts()}
    assert abouts["acme-c.pdf"] == Identity("Acme Widgets Inc.", "10-Q", "quarter", "September 30, 2023")
    assert abouts["globex.pdf"].company == "Globex Corporation"
    kept = {d.file: Identity.from_json(d.identity) for d in again.documents()}
    assert kept == abouts  # read once, then kept in the catalog

