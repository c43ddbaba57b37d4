"""Figure grounding: golden cases for the parser and the matcher (no model), then the turn, the page, the CLI and
the API with a scripted chat model over a real 10-Q, and one real SmolLM2 turn."""

import json

import pytest

from app.api.openai_format import chunk, completion
from app.turn import CheckDone, Finished, Pipeline, Released
from app.turn.figures import parse_figures, passage_scales
from app.turn.grounding import WITHHELD, evidence_lines, ground_figures, index_sources, withhold
from app.web.present import conversation_markdown, format_turn
from conftest import AAPL_PDF, ScriptedChatModel
from guard import KeywordFilter, MissingGuard
from rag.store import Hit


def one(text):
    (f,) = parse_figures(text)
    return f


def hit(text, page=5, file="10q.pdf"):
    return Hit(file, page, 0.5, text, "doc", f"c{page}")


def grounded(answer, *passages):
    """The grounded flag of each figure of the answer, against the passages."""
    index = index_sources([hit(p, page=i) for i, p in enumerate(passages, 1)])
    return [link.grounded for _, link in ground_figures(answer, index)]


# -- parsing ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, value", [
    ("$81,797 million", "amount", 81_797e6),
    ("$81.8 billion", "amount", 81.8e9),
    ("US$ 3.2bn", "amount", 3.2e9),
    ("(1,234)", "count", -1234),
    ("-1,234", "count", -1234),
    ("12.3%", "percent", 12.3),
    ("(3)%", "percent", -3),
    ("12.3 percent", "percent", 12.3),
    ("0.123", "count", 0.123),
    ("1.2亿", "amount", 120_000_000),
    ("3万", "amount", 30_000),
    ("120亿美元", "amount", 12_000_000_000),
    ("July 1, 2023", "date", "2023-07-01"),
    ("1 July 2023", "date", "2023-07-01"),
    ("2023-07-01", "date", "2023-07-01"),
    ("2023年7月1日", "date", "2023-07-01"),
    ("June 2023", "date", "2023-06"),
    ("Q3 2022", "period", "2022-Q3"),
    ("the third quarter of fiscal 2022", "period", "2022-Q3"),
    ("FY2023", "period", "FY2023"),
    ("fiscal 2023", "period", "FY2023"),
    ("FY23", "period", "FY2023"),
    ("2023年第一季度", "period", "2023-Q1"),
    ("2022", "year", 2022),
    ("16,162,945 shares", "count", 16_162_945),
])
def test_a_figure_is_parsed_with_its_kind_and_normalised_value(text, kind, value):
    f = one(text)
    assert (f.kind, f.normalised()) == (kind, pytest.approx(value) if isinstance(value, (int, float)) else value)


def test_figures_keep_their_span_and_skip_citations_page_refs_list_markers_and_codes():
    text = "1. Net sales were $82,959 million [1], page 6 of the Form 10-Q, up 2% in Q3 2022 [2, 3]."
    figures = parse_figures(text)
    assert [f.text for f in figures] == ["$82,959 million", "2%", "Q3 2022"]
    assert all(text[f.start:f.end] == f.text for f in figures)


def test_an_opening_parenthesis_without_its_close_is_not_a_sign():
    f = one("the total ($45.6 trillion USD) was wrong")
    assert f.text == "$45.6 trillion" and f.value == pytest.approx(45.6e12)


def test_passages_declare_their_units():
    assert passage_scales("(In millions, except number of shares)") == (1e6,)
    assert passage_scales("单位：万元") == (1e4,)
    assert passage_scales("Total net sales 82,959 81,434") == ()


# -- matching ------------------------------------------------------------------------------

MILLIONS = "(In millions)\nTotal net sales 81,797 82,959\nOther income/(expense), net (1,234) 243\n"


@pytest.mark.parametrize("answer, passage, expected", [
    ("$81,797 million", MILLIONS, True),
    ("$81.8 billion", MILLIONS, True),  # 81,797 million rounded to the one decimal shown
    ("$81.797 billion", MILLIONS, True),
    ("81,797", MILLIONS, True),
    ("$82 billion", MILLIONS, True),  # 81.797 billion rounds to 82
    ("$81.7 billion", MILLIONS, False),  # 81.797 does not round to 81.7
    ("$81,797 billion", MILLIONS, False),  # the wrong scale
    ("$81,797 million", "Total net sales were $81.8 billion.", False),  # more precise than the source: invented
    ("$81,800 million", "Total net sales were $81.8 billion.", True),
    ("$45.6 trillion", MILLIONS, False),
    ("$81.8 billion", "Total net sales 81,797 82,959", True),  # no unit declared: a table number may be millions
    ("a loss of $1,234 million", MILLIONS, True),  # (1,234) = -1,234; prose says the sign in words
    ("-1,234", "net (1,234)", True),
    ("12.3%", "Gross margin was 12.3% of net sales.", True),
    ("12%", "Gross margin was 12.3% of net sales.", True),
    ("1%", "Total net sales $ 81,797 $ 82,959 (1)% $ 293,787", True),  # a table's change column: (1)% = -1%
    ("(3)%", "Total net sales $ 94,836 $ 97,278 (3) %", True),
    ("3", "Total net sales $ 94,836 $ 97,278 (3)%", False),  # a count is not a percentage
    ("12.3%", "The rate was 0.123.", False),  # a percentage is not assumed to be a fraction
    ("0.123", "The rate was 12.3%.", False),
    ("1.2亿元", "营业收入为 120,000,000 元", True),
    ("1.2亿", "单位：万元\n营业收入 12,000", True),
    ("3万", "员工人数 30,000 人", True),
    ("3万", "员工人数 3,000 人", False),
    ("July 1, 2023", "For the quarterly period ended July 1, 2023", True),
    ("2023-07-01", "Three Months Ended July 1,\n2023", True),
    ("June 2023", "as of June 24, 2023", True),
    ("July 2, 2023", "For the quarterly period ended July 1, 2023", False),
    ("Q3 2022", "during the third quarter of 2022 compared to", True),
    ("Q3 2022", "during the second quarter of 2022", False),
    ("fiscal 2022", "Apple Inc. | Q3 2022 Form 10-Q", True),
    ("FY2024", "Apple Inc. | Q3 2022 Form 10-Q", False),
    ("2022", "June 25, 2022", True),
])
def test_golden_matching(answer, passage, expected):
    assert grounded(answer, passage) == [expected]


def test_an_unscaled_answer_figure_is_not_grounded_by_a_different_number():
    assert grounded("Net sales were 81,798.", MILLIONS) == [False]


def test_the_first_source_that_holds_a_figure_is_linked():
    index = index_sources([hit("Nothing here.", page=2), hit(MILLIONS, page=4, file="aapl.pdf")])
    ((_, link),) = ground_figures("$81.8 billion", index)
    assert (link.grounded, link.n, link.file, link.page, link.kind) == (True, 2, "aapl.pdf", 4, "amount")


def test_withhold_replaces_only_the_ungrounded_figures():
    answer = "Net sales were $81.8 billion ($45.6 trillion USD) [1]."
    found = ground_figures(answer, index_sources([hit(MILLIONS)]))
    assert withhold(answer, found) == f"Net sales were $81.8 billion ({WITHHELD} USD) [1]."


def test_evidence_lines_hold_figures_and_share_words_with_the_question():
    passage = ("Apple Inc.\nCONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS\nTotal net sales 82,959 81,434\n"
               "Research and development 6,797 5,717\nThe Company's net sales grew in every segment.")
    lines = evidence_lines("What were Apple's total net sales?", [hit("No figures here at all."), hit(passage, 7)])
    assert [(e.text, e.n, e.page) for e in lines] == [("Total net sales 82,959 81,434", 2, 7)]
    assert evidence_lines("What were total net sales?", [hit(passage)] * 5, limit=3)[0].n == 1


# -- the turn -------------------------------------------------------------------------------

QUESTION = "What were Apple's total net sales for the three months ended June 25, 2022?"
INVENTED = "$45.6 trillion"
ANSWER = f"Total net sales were $82,959 million ({INVENTED} USD) for the three months ended June 25, 2022 [1]."


@pytest.fixture
def aapl_library(hearth):
    list(hearth.ingest([AAPL_PDF]))
    return hearth.documents.library()


def turn_events(library, mode, answer=ANSWER, **kw):
    pipe = Pipeline(checks=[KeywordFilter(), MissingGuard("no guard installed", strict=False)], retriever=library,
                    chat_model=ScriptedChatModel(answer), figure_check=mode, **kw)
    events = list(pipe.run(QUESTION))
    assert isinstance(events[-1], Finished)
    return events, events[-1].result


def test_mark_links_the_real_figure_to_its_page_and_marks_the_invented_one(aapl_library):
    _, turn = turn_events(aapl_library, "mark")
    assert not turn.blocked and turn.answer == ANSWER
    links = {f.text: f for f in turn.figures}
    real, invented = links["$82,959 million"], links[INVENTED]
    assert real.grounded and real.file == AAPL_PDF.name and real.page in (4, 10)
    assert "82,959" in turn.sources[real.n - 1].text
    assert links["June 25, 2022"].grounded
    assert not invented.grounded and invented.n is None
    assert turn.checks[-1].stage == "answer" and turn.checks[-1].layer == "figures"
    assert turn.checks[-1].status == "marked" and turn.checks[-1].allowed and INVENTED in turn.checks[-1].reason
    assert turn.evidence and "82,959" in turn.evidence[0].text and turn.evidence[0].file == AAPL_PDF.name
    page = format_turn(turn)
    assert f"{INVENTED}<sup>⚠ not in the sources</sup>" in page
    assert "$82,959 million<sup>" not in page and "Figures found in the sources: $82,959 million [" in page
    assert "What the sources say" in page and "> Total net sales" in page
    assert "来源中没有" in format_turn(turn, "zh")
    export = conversation_markdown([turn])
    assert f"⚠ Not in the sources: {INVENTED}" in export and "> Total net sales" in export


def test_withhold_replaces_the_invented_figure_in_every_released_piece(aapl_library):
    answer = f"{ANSWER}\nThat is the total of products and services. Both are in the statement of operations."
    events, turn = turn_events(aapl_library, "withhold", answer=answer, release_chars=40)
    released = [e.text for e in events if isinstance(e, Released)]
    assert len(released) > 1 and all(INVENTED not in r and "45.6" not in r for r in released)
    assert released[-1] == turn.answer == answer.replace(INVENTED, "[not in the sources]")
    assert all(a == b[:len(a)] for a, b in zip(released, released[1:]))  # each piece extends the last
    assert turn.checks[-1].status == "withheld" and not turn.blocked
    assert [e.check.layer for e in events if isinstance(e, CheckDone)][-1] == "figures"


def test_off_checks_no_figures(aapl_library):
    _, turn = turn_events(aapl_library, "off")
    assert turn.answer == ANSWER and turn.figures == [] and turn.evidence == []
    assert "figures" not in [c.layer for c in turn.checks]


def test_all_grounded_passes_without_evidence(aapl_library):
    _, turn = turn_events(aapl_library, "mark", answer="Total net sales were $82.96 billion [1].")
    assert [f.grounded for f in turn.figures] == [True] and turn.evidence == []
    assert turn.checks[-1].status == "passed"


def test_the_api_carries_figures_and_keeps_its_finish_reason(aapl_library):
    _, turn = turn_events(aapl_library, "mark")
    out = completion(turn, model="hearth-rag", max_tokens=512)
    assert out["choices"][0]["finish_reason"] == "stop" and out["hearth"]["blocked"] is False
    assert out["hearth"]["categories"] == []
    figures = {f["text"]: f for f in out["hearth"]["figures"]}
    assert figures[INVENTED]["grounded"] is False and figures["$82,959 million"]["page"] in (4, 10)
    assert out["hearth"]["evidence"][0]["file"] == AAPL_PDF.name
    last = chunk("id", "hearth-rag", finish="stop", turn=turn)
    assert last["hearth"]["figures"] == out["hearth"]["figures"]


def test_hearth_ask_prints_ungrounded_figures_and_carries_them_in_json(settings, embedder, tmp_path):
    from click.testing import CliRunner

    from app.cli import cli
    from app.hearth import Hearth

    h = Hearth(settings, embedder=embedder, chat_model=ScriptedChatModel(ANSWER))
    try:
        list(h.ingest([AAPL_PDF]))
        r = CliRunner().invoke(cli, ["ask", QUESTION], obj={"hearth": h})
        assert r.exit_code == 0, r.output
        assert f"not in the sources: {INVENTED}" in r.stderr and "answer/figures: marked" in r.stderr
        assert '> "Total net sales' in r.stdout
        r = CliRunner().invoke(cli, ["--json", "ask", QUESTION], obj={"hearth": h})
        turn = json.loads(r.stdout.splitlines()[-1])
        assert {f["text"]: f["grounded"] for f in turn["figures"]}[INVENTED] is False and turn["evidence"]
    finally:
        h.close()


def test_a_real_small_model_never_shows_an_ungrounded_figure_unmarked(aapl_library, chat_model):
    """SmolLM2-135M over the 10-Q: every figure of its answer is linked to a source or marked on the page."""
    pipe = Pipeline(checks=[KeywordFilter()], retriever=aapl_library, chat_model=chat_model, max_tokens=160,
                    temperature=0.0)
    turn = pipe.ask(QUESTION)
    assert not turn.blocked and turn.checks[-1].layer == "figures"
    page = format_turn(turn)
    for f in turn.figures:
        assert f.grounded or f"{f.text}<sup>⚠ not in the sources</sup>" in page, (f, turn.answer)
        assert not f.grounded or (f.file == AAPL_PDF.name and f.page >= 1)
    assert turn.checks[-1].status == ("passed" if all(f.grounded for f in turn.figures) else "marked")


def test_eval_answers_counts_figures_per_question_and_overall(aapl_library):
    from evaluation.answers import summarise_answers, turn_row
    from evaluation.report import answers_markdown

    _, turn = turn_events(aapl_library, "mark")
    row = turn_row(turn.to_dict(), 10.0)
    assert (row["figures"], row["figures_grounded"], row["figures_ungrounded"]) == (3, 2, 1)  # with the date
    assert row["ungrounded"] == [INVENTED]
    _, clean = turn_events(aapl_library, "mark", answer="Total net sales were $82.96 billion [1].")
    rows = [{**r, "id": i, "question": QUESTION, "gold_na": False, "gold_numbers": 0, "numbers_found": 0,
             "abstained": False, "cites_evidence": True, "evidence_in_sources": True, "contains_gold": None,
             "abstain_correct": None} for i, r in enumerate([row, turn_row(clean.to_dict(), 10.0)])]
    s = summarise_answers(rows)
    assert (s["figures"], s["figures_grounded"], s["figures_ungrounded"], s["answers_with_ungrounded"]) == (4, 3, 1, 1)
    assert s["figures_grounded_share"] == pytest.approx(3 / 4)
    md = answers_markdown({"summary": s, "rows": rows, "questions_file": "q.jsonl", "collection": {"dir": "docs"},
                           "created": "today",
                           "charts": []})
    assert f"⚠ {INVENTED}" in md and "figures not in the sources (marked)" in md
