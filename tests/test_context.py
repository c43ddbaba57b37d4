"""Fitting a turn into n_ctx: the question always, newest history within its share, sources by rank."""

import pytest

from app.turn.context import plan_context, summarise_turns
from engine import Generation
from rag.store import Hit


def words(text: str) -> int:  # a tokenizer stand-in: one token per word (pure planning, no model needed)
    return len(text.split())


def hit(i: int, n_words: int) -> Hit:
    return Hit(f"f{i}.pdf", i, 0.9, " ".join(["word"] * n_words), f"d{i}", f"d{i}:0")


def turn(i: int, n_words: int) -> tuple[str, str]:
    return (f"question {i}", " ".join([f"a{i}"] * n_words))


def test_everything_fits_in_a_large_context():
    plan = plan_context("What was revenue?", [hit(1, 100), hit(2, 100)], [turn(1, 50)], n_ctx=4096,
                        max_tokens=512, count=words)
    assert len(plan.sources) == 2 and plan.history == [turn(1, 50)] and plan.notes() == []


def test_oldest_history_goes_first_and_sources_are_cut_by_rank():
    history = [turn(i, 200) for i in range(1, 6)]  # five long earlier turns
    hits = [hit(i, 300) for i in range(1, 5)]
    plan = plan_context("And the margin?", hits, history, n_ctx=2048, max_tokens=512, count=words)
    assert plan.history == history[-1:]  # only the newest turn fits in its share
    assert plan.dropped_turns == 4
    assert [h.file for h in plan.sources] == ["f1.pdf", "f2.pdf", "f3.pdf"] and plan.dropped_sources == 1
    notes = " ".join(plan.notes())
    assert "1 of 4 passages did not fit" in notes and "4 earlier turn(s)" in notes
    assert plan.summary.startswith("Earlier in this conversation") and all(f'"question {i}"' in plan.summary
                                                                         for i in range(1, 5))
    assert "kept as a summary" in notes


def test_the_summary_keeps_the_newest_left_out_questions_and_fits_its_budget():
    turns = [("first question about revenue", "x"), ("second one on margins", "y"), ("third on cash", "z")]
    two = summarise_turns(turns[1:], 1000, words)
    budget = words(two) + 8  # room for exactly the two newest questions and the message overhead
    summary = summarise_turns(turns, budget, words)
    assert summary == two and '"second one on margins"; "third on cash"' in summary and "first" not in summary
    assert summarise_turns(turns, 5, words) == "" and summarise_turns([], 1000, words) == ""
    long = summarise_turns([("why " * 300, "a")], 1000, words)
    assert long.count("why") == 40 and "…" in long  # one long question is shortened, not dropped whole


def test_the_question_is_never_dropped_but_a_too_long_one_is_refused():
    plan = plan_context("short?", [hit(1, 2000)], [turn(1, 10)], n_ctx=1024, max_tokens=256, count=words)
    assert plan.sources == [] and plan.dropped_sources == 1
    with pytest.raises(ValueError, match="too long for the model's context.*HEARTH_N_CTX"):
        plan_context("long " * 900, [hit(1, 10)], [], n_ctx=1024, max_tokens=256, count=words)


def test_pipeline_tells_the_user_when_history_was_left_out(hearth, tmp_path):
    from app.turn import Pipeline
    from conftest import make_pdf
    from guard import KeywordFilter, MissingGuard

    list(hearth.ingest([make_pdf(tmp_path / "a.pdf", ["Revenue was 120 million dollars in the quarter."])]))

    class Scripted:
        """Test double: a fixed answer; counts words as tokens."""

        def count_tokens(self, text):
            return len(text.split())

        def stream(self, messages, **kw):
            self.messages = messages
            return Generation(lambda stats: (p for p in ["Revenue was 120 million [1]."]))

    chat = Scripted()
    pipe = Pipeline(checks=[KeywordFilter(), MissingGuard("none", strict=False)], retriever=hearth.documents.library(),
                    chat_model=chat, n_ctx=1024, max_tokens=256)
    history = [turn(i, 150) for i in range(1, 4)]
    result = pipe.ask("What was revenue?", history=history)
    assert result.history_dropped == 3 - sum(m["role"] == "assistant" for m in chat.messages)
    assert result.history_dropped >= 2 and "earlier turn(s)" in result.message
    assert chat.messages[-1]["content"].endswith("Question: What was revenue?")
    assert '"question 1"' in chat.messages[0]["content"]  # the oldest question survives in the summary


def test_pipeline_tells_the_user_when_sources_were_cut(hearth, tmp_path):
    from app.turn import Pipeline
    from app.web.present import format_turn
    from conftest import make_pdf
    from guard import KeywordFilter, MissingGuard

    pages = [f"Revenue note {i}: " + " ".join(["revenue grew in the quarter"] * 60) for i in range(4)]
    list(hearth.ingest([make_pdf(tmp_path / "long.pdf", pages)]))

    class Scripted:
        """Test double: a fixed answer; counts words as tokens."""

        def count_tokens(self, text):
            return len(text.split())

        def stream(self, messages, **kw):
            self.messages = messages
            return Generation(lambda stats: (p for p in ["Revenue grew [1]."]))

    chat = Scripted()
    pipe = Pipeline(checks=[KeywordFilter(), MissingGuard("none", strict=False)], retriever=hearth.documents.library(),
                    chat_model=chat, n_ctx=1024, max_tokens=256, top_k=4)
    result = pipe.ask("How did revenue develop?")
    assert 1 <= len(result.sources) < 4 and result.answer == "Revenue grew [1]."
    assert f"{4 - len(result.sources)} of 4 passages did not fit" in result.message
    assert "did not fit the model's context" in format_turn(result)  # shown under the answer
    assert chat.messages[-1]["content"].endswith("Question: How did revenue develop?")
