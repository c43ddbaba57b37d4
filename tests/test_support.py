"""'Not in the documents': the support decision as a pure function (literal questions, hits and documents), then
the turn over a real 10-Q in real Chroma: a question about a company or period the library lacks gets no
generated answer, only the closest passages; an answerable one goes on to the model."""

import pytest

from app.turn import Pipeline
from app.turn.support import judge_support, not_found_answer, question_names, support_verdict
from app.web.present import format_turn
from conftest import AAPL_PDF, ScriptedChatModel
from evaluation.answers import check_answer
from evaluation.questions import Question
from guard import KeywordFilter, MissingGuard
from rag.focus import DocAbout
from rag.identity import Identity
from rag.store import Hit

APPLE = [DocAbout("a3", "2023 Q3 AAPL.pdf", Identity("Apple Inc.", "10-Q", "quarter", "July 1, 2023")),
         DocAbout("a2", "2022 Q3 AAPL.pdf", Identity("Apple Inc.", "10-Q", "quarter", "June 25, 2022"))]
NET_SALES = "Total net sales 81,797 82,959 Products 60,584 63,355 Services 21,213 19,604"
LIBRARY_WORDS = {"apple", "net", "sales", "services", "total", "iphone", "greater", "china", "products"}


def hits(score=0.7, text=NET_SALES):
    return [Hit("2023 Q3 AAPL.pdf", 4, score, text, "a3", "a3:10")]


def judge(question, score=0.7, docs=APPLE, present=LIBRARY_WORDS, threshold=0.5):
    words = {w for w in present if w in question.lower()} if present is not None else None
    return judge_support(question, hits(score), docs, words, threshold=threshold)


@pytest.mark.parametrize("question, names", [
    ("What was Tesla's total revenue in Q2 2023?", [("Tesla", True)]),
    ("How did Apple's Services net sales change?", [("Apple", True), ("Services", False)]),
    ("What did Goldman Sachs report for the quarter?", [("Goldman Sachs", False)]),
    ("What was Meta Platforms' advertising revenue?", [("Meta Platforms", True)]),
    ("What was AAPL EPS in FY2023 under GAAP?", [("AAPL", False)]),
    ("How much did Microsoft spend on R&D in the quarter ended March 31, 2023?", [("Microsoft", False)]),
    ("Apple revenue? What about Greater China?", [("Greater China", False)]),
])
def test_names_are_the_capitalised_words_that_are_not_question_words_months_or_metric_acronyms(question, names):
    assert question_names(question) == names


def test_an_answerable_question_is_supported():
    s = judge("What were Apple's total net sales for the quarter ended July 1, 2023?")
    assert s.supported and s.score == 0.7 and s.reason == ""


@pytest.mark.parametrize("question, reason", [
    ("What were Tesla's total net sales in Q3 2023?", "your documents never mention Tesla."),
    ("What were Goldman Sachs net sales?", "your documents never mention Goldman Sachs."),
])
def test_a_name_the_library_never_mentions_is_not_in_the_documents(question, reason):
    s = judge(question)
    assert not s.supported and s.reason == reason


def test_an_owner_that_is_not_a_company_of_the_library_is_not_in_the_documents():
    # "samsung" is in the library (a supplier named in a passage), but no document is Samsung's
    s = judge("What were Samsung's total net sales?", present=LIBRARY_WORDS | {"samsung"})
    assert not s.supported and s.missing == ("Samsung",)
    assert s.reason == "none of your documents is about Samsung (they are about Apple)."
    # ... unless the passages found speak of it
    text = NET_SALES + " Samsung net sales"
    assert judge_support("What were Samsung's total net sales?", hits(text=text), APPLE,
                         LIBRARY_WORDS | {"samsung"}).supported


@pytest.mark.parametrize("question, covered", [
    ("What were Apple's total net sales in Q3 2023?", True),
    ("What were Apple's total net sales in Q3 2022?", True),
    ("What were Apple's total net sales in Q3 2021?", True),  # the comparison column of the Q3 2022 10-Q
    ("What were Apple's total net sales in Q3 2020?", False),
    ("What were Apple's total net sales in Q4 2023?", False),
    ("What were Apple's total net sales in Q1 2024?", False),
    ("What were Apple's total net sales in the third quarter of fiscal 2024?", True),  # fiscal naming may lead
    ("What were Apple's total net sales for the quarter ended June 24, 2023?", True),  # within days
    ("What were Apple's total net sales for the quarter ended June 26, 2021?", True),  # a year before a 10-Q
    ("What were Apple's total net sales for the quarter ended December 28, 2019?", False),
    ("What were Apple's total net sales in 2022?", True),
    ("What were Apple's total net sales in 2018?", False),
    ("What were Apple's total net sales in the latest quarter?", True),
])
def test_a_period_no_filing_covers_is_not_in_the_documents(question, covered):
    s = judge(question)
    assert s.supported is covered, s.reason
    assert covered or s.reason.startswith("none of your documents covers ")


def test_periods_are_not_checked_in_a_library_of_undated_documents():
    plain = [DocAbout("h", "handbook.pdf")]
    assert judge("What were total net sales in Q1 2019?", docs=plain).supported


def test_weak_evidence_is_not_in_the_documents_below_the_threshold_only():
    q = "How many iPhones did Apple sell?"
    assert judge(q, score=0.49).reason == ("the closest passages match the question only weakly (similarity 0.49, "
                                           "under 0.50).")
    assert judge(q, score=0.5).supported
    assert judge(q, score=0.2, threshold=0.0).supported


def test_unknown_library_words_skip_the_name_check_and_no_hits_is_never_supported():
    assert judge("What were Tesla's total net sales?", present=None, docs=[]).supported
    assert judge_support("anything", [], APPLE, set()).reason == "no passage of your documents matches the question."


def test_the_verdict_and_the_answer_say_not_in_the_documents():
    s = judge("What were Tesla's total net sales in Q3 2023?")
    assert support_verdict(s, "refuse").status == "refused" and support_verdict(s, "refuse").allowed
    assert support_verdict(s, "warn").status == "weak"
    assert support_verdict(judge("What were Apple's total net sales?"), "refuse").status == "passed"
    text = not_found_answer(s)
    assert text.startswith("Not in the documents: your documents never mention Tesla.")
    row = check_answer(Question("u1", "q", answer="N/A"), text, False, [])
    assert row["abstained"] and row["abstain_correct"] is True and row["wrong_refusal"] is None
    row = check_answer(Question("a1", "q", docs=("x.pdf",)), "The sales were 5.", False, [], not_found=True)
    assert row["wrong_refusal"] is True and row["abstain_correct"] is None


# -- the turn over a real 10-Q -------------------------------------------------------------------

@pytest.fixture
def aapl_library(hearth):
    list(hearth.ingest([AAPL_PDF]))
    return hearth.documents.library()


class NoModel(ScriptedChatModel):
    """A chat model that fails the test if the turn asks it to write."""

    def stream(self, messages, **kw):
        raise AssertionError("the model was asked to answer a question the documents do not support")


def pipeline(library, chat, **kw):
    return Pipeline(checks=[KeywordFilter(), MissingGuard("no guard installed", strict=False)], retriever=library,
                    chat_model=chat, **kw)


@pytest.mark.parametrize("question, reason", [
    ("What was Tesla's total revenue for the quarter ended June 30, 2022?", "your documents never mention Tesla."),
    ("What were Apple's total net sales for the quarter ended December 28, 2019?",
     "none of your documents covers the period ended December 28, 2019."),
])
def test_a_question_the_10q_does_not_answer_gets_the_closest_passages_and_no_answer(aapl_library, question, reason):
    turn = pipeline(aapl_library, NoModel("unused")).ask(question)
    assert turn.not_found and not turn.blocked
    assert turn.answer.startswith(f"Not in the documents: {reason}")
    assert turn.sources and all(c.file == AAPL_PDF.name and not c.cited for c in turn.citations)
    assert [c.chunk_id for c in turn.citations] == [h.chunk_id for h in turn.sources]
    check = next(c for c in turn.checks if c.layer == "support")
    assert (check.stage, check.status) == ("question", "refused") and reason in check.reason
    page = format_turn(turn)
    assert "The closest passages (none of them answers the question)" in page and "🔎" in page
    assert turn.to_dict()["not_found"] is True


def test_an_answerable_question_reaches_the_model_and_warn_mode_answers_with_a_note(aapl_library):
    q = "What were Apple's total net sales for the three months ended June 25, 2022?"
    turn = pipeline(aapl_library, ScriptedChatModel("Total net sales were $82,959 million [1].")).ask(q)
    assert not turn.not_found and turn.answer.startswith("Total net sales")
    assert next(c for c in turn.checks if c.layer == "support").status == "passed"
    assert all(c.chunk_id for c in turn.citations)
    warned = pipeline(aapl_library, ScriptedChatModel("It was 5 billion [1]."), support_check="warn").ask(
        "What was Tesla's total revenue for the quarter ended June 30, 2022?")
    assert not warned.not_found and warned.answer == "It was 5 billion [1]."
    assert "Not in the documents: your documents never mention Tesla." in warned.message
    off = pipeline(aapl_library, ScriptedChatModel("It was 5 billion [1]."), support_check="off").ask(
        "What was Tesla's total revenue for the quarter ended June 30, 2022?")
    assert not off.not_found and not any(c.layer == "support" for c in off.checks)
