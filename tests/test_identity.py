"""Contextual chunk headers: a document's identity read from its cover goes into what is embedded and
BM25-indexed for each chunk, never into the text a hit shows and cites."""

from conftest import make_pdf
from rag import Catalog, Library, Store, open_chroma
from rag.identity import document_identity
from rag.library import doc_label

COVER = """UNITED STATES
SECURITIES AND EXCHANGE COMMISSION
FORM 10-Q
For the quarterly period ended June 25, 2022
Commission File Number: 001-36743
Apple Inc.
(Exact name of Registrant as specified in its charter)
California 94-2404110"""


def test_identity_names_company_form_and_period_from_a_cover_page():
    assert document_identity(COVER) == "Apple Inc. Form 10-Q, quarter ended June 25, 2022"


def test_identity_without_the_exact_name_line_takes_the_line_after_the_file_number():
    cover = ("FORM 10-K\nFor the Fiscal Year Ended June 30, 2023\nCommission File Number 001-37845\n"
             "____________\nMICROSOFT CORPORATION\nWASHINGTON 91-1144442")
    assert document_identity(cover) == "Microsoft Corporation Form 10-K, fiscal year ended June 30, 2023"


def test_identity_reads_a_name_after_the_file_number_rule_and_a_name_that_starts_with_a_digit():
    square = ("FORM 10-K\nFor the fiscal year ended December 31, 2020\nCommission File Number 001-37622 "
              "______________________ SQUARE, INC.\n(Exact name of registrant as specified in its charter)")
    assert document_identity(square) == "Square, Inc. Form 10-K, fiscal year ended December 31, 2020"
    three_m = ("FORM 10-K\nFor the fiscal year ended December 31, 2018\nCommission file number 1-3285\n3M COMPANY\n"
               "State of Incorporation: Delaware")
    assert document_identity(three_m) == "3M Company Form 10-K, fiscal year ended December 31, 2018"
    assert document_identity("FORM 10-Q\nCommission File Number 001-37622\n001-37622\n") == "Form 10-Q"


def test_ordinary_documents_have_no_identity_and_keep_their_file_label():
    assert document_identity("Minutes of the board meeting\nHeld on 3 March, in Lyon.") == ""
    assert doc_label("2023 Q3 AAPL.pdf", "0000320193-23-000077", "") == "2023 Q3 AAPL"
    assert doc_label("q3_report.pdf", "Quarterly widget report", "") == "q3 report (Quarterly widget report)"
    assert doc_label("2023 Q3 AAPL.pdf", "ignored title words", "Apple Inc. Form 10-Q") == "2023 Q3 AAPL (Apple Inc. Form 10-Q)"


def test_header_is_searchable_but_not_in_the_cited_text(tmp_path, embedder):
    """Real PDF, real MiniLM, real Chroma: the company name only on the cover finds the later page by BM25 and
    dense search, and the hit's text is the page's own text, without the header."""
    body = "Total net sales were 82,959 million dollars for the three months, driven by higher services revenue."
    pdf = make_pdf(tmp_path / "filing.pdf", [COVER, body])
    data = tmp_path / "data"
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "default"),
                  embedder=embedder, collection="default", chunk_size=150, chunk_overlap=0)  # a chunk per page
    (r,) = list(lib.ingest([pdf]))
    assert r.status == "indexed"
    for options in ({"dense": False}, {"lexical": False}, {}):
        hits = lib.search("Apple net sales quarter ended June 25, 2022", k=5, **options)
        page2 = [h for h in hits if h.page == 2]
        assert page2, options
        assert "Apple" not in page2[0].text and "Form 10-Q" not in page2[0].text
        assert page2[0].text.strip() == body
    stored = lib.store.get([page2[0].chunk_id])[page2[0].chunk_id][0]
    assert stored == page2[0].text
