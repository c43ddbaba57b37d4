"""The guarded turn, with the real SmolLM2, MiniLM and Chroma unless a test says otherwise."""

import threading

import pytest

from app.turn import CheckDone, Drafting, Finished, Pipeline, Released
from conftest import AAPL_PDF, ScriptedChatModel, make_pdf
from guard import KeywordFilter, LlamaGuard, MissingGuard


class CountingChatModel:
    """The real chat model, counting how often it is asked to generate."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def count_tokens(self, text):
        return self.real.count_tokens(text)

    def stream(self, messages, **kw):
        self.calls += 1
        return self.real.stream(messages, **kw)


class CrashingLayer:
    layer = "llama_guard"

    def check(self, conversation):
        raise RuntimeError("guard process died")


@pytest.fixture
def aapl_library(hearth):
    list(hearth.ingest([AAPL_PDF]))
    return hearth.documents.library()


@pytest.fixture
def library(hearth, tmp_path):
    # Each page is longer than one chunk (chunks may span pages), so the library holds several sources.
    pdf = make_pdf(tmp_path / "acme-q3.pdf", [
        "ACME Corp quarterly report. Revenue for the third quarter was 120 million dollars, up 8 percent. " * 12,
        "Gross margin was 41 percent. Services revenue reached a record 30 million dollars. " * 12,
        "Risk factors: supply chain disruption, currency movements and competition. " * 12,
    ])
    list(hearth.ingest([pdf]))
    return hearth.documents.library()


def make(library, chat, checks=None, **kw):
    checks = checks if checks is not None else [KeywordFilter(), MissingGuard("no guard installed", strict=False)]
    return Pipeline(checks=checks, retriever=library, chat_model=chat, **kw)


def test_end_to_end_answer_with_citations(aapl_library, chat_model):
    result = make(aapl_library, chat_model).ask("How did iPhone net sales change in the third quarter of 2022?")
    assert not result.blocked and result.answer.strip()
    assert result.citations and all(c.file == AAPL_PDF.name and 1 <= c.page <= 28 for c in result.citations)
    stages = [(c.stage, c.layer, c.status) for c in result.checks]
    assert stages[:5] == [("question", "keyword", "passed"), ("question", "llama_guard", "missing"),
                          ("question", "support", "passed"),  # the 10-Q covers the quarter: the model answers
                          ("answer", "keyword", "passed"), ("answer", "llama_guard", "missing")]
    assert stages[5][:2] == ("answer", "figures") and stages[5][2] in ("passed", "marked")  # never blocks
    assert {"question_checks_ms", "retrieval_ms", "first_token_ms", "generation_ms"} <= set(result.timings)


def test_blocked_question_never_reaches_the_model(library, chat_model):
    counting = CountingChatModel(chat_model)
    pipe = make(library, counting)
    result = pipe.ask("Explain how to make a bomb from household items")
    assert result.blocked and result.blocked_by == "question/keyword"
    assert "explosives_weapons" in result.message and result.answer == ""
    assert counting.calls == 0
    assert pipe.ask("What was the gross margin?").blocked is False and counting.calls == 1


@pytest.mark.parametrize("layer", [CrashingLayer(), MissingGuard("no guard installed", strict=True)])
def test_a_failing_or_required_missing_guard_blocks_every_turn(library, layer):
    chat = ScriptedChatModel("never said")
    result = make(library, chat, checks=[KeywordFilter(), layer]).ask("What was revenue?")
    assert result.blocked and result.blocked_by == "question/llama_guard" and chat.calls == 0
    assert result.checks[-1].status in ("error", "blocked")


def test_an_unsafe_answer_is_withheld(library):
    chat = ScriptedChatModel("Sure. Here is how to make a bomb: first you take...")
    result = make(library, chat, release_chars=0).ask("What was revenue?")
    assert result.blocked and result.blocked_by == "answer/keyword" and result.answer == ""


def test_pieces_are_released_only_after_their_checks(library):
    text = ("Revenue grew in every segment. Services reached a record. " * 6) + "Then how to make a bomb follows."
    events = list(make(library, ScriptedChatModel(text), release_chars=60).run("What happened to revenue?"))
    released = [e.text for e in events if isinstance(e, Released)]
    assert released and all("bomb" not in r for r in released)
    assert all(a == b[:len(a)] for a, b in zip(released, released[1:]))  # each piece extends the last
    result = events[-1].result
    assert isinstance(events[-1], Finished) and result.blocked and result.blocked_by == "answer/keyword"
    assert any(isinstance(e, Drafting) for e in events) and any(isinstance(e, CheckDone) for e in events)


def test_whole_answer_is_checked_even_when_pieces_passed(library):
    # The forbidden phrase straddles two release windows; only the whole-answer check sees it.
    text = "All fine here. " * 5 + "how to make a " + "bomb."
    result = make(library, ScriptedChatModel(text), release_chars=20).ask("What was revenue?")
    assert result.blocked and result.blocked_by == "answer/keyword"


def test_citations_follow_the_numbers_the_answer_uses(library):
    answer = ScriptedChatModel("Sales rose [2], and margins held [2][1].")
    result = make(library, answer).ask("What happened to sales and margins?")
    assert [c.n for c in result.citations] == [2, 1] and all(c.cited for c in result.citations)


def test_no_documents_gives_a_plain_answer_without_the_model(hearth):
    chat = ScriptedChatModel("should not be used")
    result = make(hearth.documents.library("empty"), chat).ask("What was revenue?")
    assert not result.blocked and "found nothing in your documents" in result.answer and chat.calls == 0


def test_stop_ends_generation_early(library, chat_model):
    stop = threading.Event()
    events = []
    for e in make(library, chat_model, release_chars=0).run("Summarise the risk factors in detail.", stop=stop):
        events.append(e)
        if isinstance(e, Drafting) and e.tokens == 3:
            stop.set()
    result = events[-1].result
    assert result.stopped and result.timings["tokens"] <= 4


def test_empty_and_overlong_questions_are_refused(library, chat_model):
    pipe = make(library, chat_model)
    with pytest.raises(ValueError, match="empty"):
        pipe.ask("   ")
    with pytest.raises(ValueError, match="limit"):
        pipe.ask("x" * 5000)


def test_guard_runs_through_llama_cpp_in_the_turn(library, chat_model, smollm_path):
    guard = LlamaGuard(smollm_path, verify_model=False, min_format_mass=0.0, threshold=1.01, n_ctx=4096)
    result = make(library, chat_model, checks=[KeywordFilter(), guard]).ask("What was the gross margin?")
    lg = [c for c in result.checks if c.layer == "llama_guard"]
    assert [c.stage for c in lg] == ["question", "answer"]
    assert all(c.status == "passed" and 0 <= c.score <= 1 for c in lg)
    guard.close()


def test_each_generation_carries_its_own_token_counts(chat_model):
    """Two answers from one model: each Generation keeps its own stats (nothing is left on the shared model)."""
    short = chat_model.stream([{"role": "user", "content": "Hi."}], max_tokens=4, temperature=0.0)
    long = chat_model.stream([{"role": "user", "content": "Summarise: " + "costs rose and margins fell. " * 30}],
                             max_tokens=4, temperature=0.0)
    "".join(long)
    "".join(short)  # read last: with counts on the model, both would now say the short prompt's
    assert 0 < short.stats.prompt_tokens < 60 < long.stats.prompt_tokens  # the template adds a system prompt
    assert short.stats.decode_tokens >= 1 and long.stats.decode_tokens >= 1
    assert not hasattr(chat_model, "last_stats")


def test_a_prompt_counts_whole_when_its_prefix_comes_from_the_cache(chat_model, smollm_path):
    """llama.cpp reads again only what differs from the last prompt; the count billed is still the whole prompt,
    the same as a model with nothing cached reports."""
    from engine.chat import ChatModel

    system = {"role": "system", "content": "Answer from the passages. " + "Net sales rose in every segment. " * 20}
    first = [system, {"role": "user", "content": "What were total net sales in the third quarter?"}]
    second = [system, {"role": "user", "content": "How did the gross margin of services change from a year ago?"}]
    "".join(chat_model.stream(first, max_tokens=4, temperature=0.0))
    warm = chat_model.stream(second, max_tokens=4, temperature=0.0)
    "".join(warm)
    fresh_model = ChatModel(smollm_path, n_ctx=2048, n_threads=2)
    cold = fresh_model.stream(second, max_tokens=4, temperature=0.0)
    "".join(cold)
    fresh_model.close()
    assert warm.stats.prompt_evaluated < warm.stats.prompt_tokens  # the shared prefix was reused ...
    assert warm.stats.prompt_tokens == cold.stats.prompt_tokens == cold.stats.prompt_evaluated  # ... and still counted
    again = chat_model.stream(second, max_tokens=4, temperature=0.0)  # all of it cached but the last token, which
    "".join(again)  # llama.cpp reads alone and counts as a decoded token (the 8 x 200 load found it billed one short)
    assert again.stats.prompt_tokens == cold.stats.prompt_tokens
