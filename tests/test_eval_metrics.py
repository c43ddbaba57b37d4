"""Evaluation metrics and answer checks are pure functions: literal inputs, exact expected values."""

import pytest

from engine import fallback_chat_format
from evaluation.answer_checks import (cites_evidence, contains_phrase, gold_is_na, parse_numbers, salient_numbers,
                                      same_quantity, says_not_in_documents)
from evaluation.answers import check_answer, summarise_answers
from evaluation.compare import model_label, summarise_model
from evaluation.guard_eval import combine, summarise_guard
from evaluation.judge import parse_score
from evaluation.metrics import (first_rank, hit_at, percentile, precision_at, rate, recall_at, reciprocal_rank,
                                page_flags)
from evaluation.questions import Question
from evaluation.report import markdown_table
from evaluation.retrieval import group_rows, score_question, summarise


def test_rank_metrics():
    flags = [False, True, False, True]
    assert first_rank(flags) == 2 and reciprocal_rank(flags) == 0.5
    assert hit_at(flags, 1) is False and hit_at(flags, 2) is True
    assert precision_at(flags, 4) == 0.5 and precision_at(flags, 1) == 0.0 and precision_at([], 3) == 0.0
    assert first_rank([False, False]) is None and reciprocal_rank([False]) == 0.0
    assert recall_at(["a.pdf", "c.pdf", "b.pdf"], ["a.pdf", "b.pdf"], 2) == 0.5
    assert recall_at(["a.pdf", "c.pdf", "b.pdf"], ["a.pdf", "b.pdf"], 3) == 1.0
    assert page_flags([("a.pdf", 3), ("a.pdf", 4), ("b.pdf", 3)], ["a.pdf"], [3]) == [True, False, False]


def test_rates_and_percentiles():
    assert rate(1, 4) == 0.25 and rate(0, 0) is None
    assert percentile([10, 20, 30, 40], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([7], 95) == 7 and percentile([], 50) is None


def test_score_and_summarise_questions():
    single = Question("q1", "Revenue?", docs=("a.pdf",), pages=(2,))
    multi = Question("q2", "Compare?", docs=("a.pdf", "b.pdf"), meta={"question_type": "Multi-Doc"})
    r1 = score_question(single, [("b.pdf", 1), ("a.pdf", 2), ("a.pdf", 5)], [1, 3])
    r2 = score_question(multi, [("a.pdf", 1), ("c.pdf", 1), ("c.pdf", 2)], [1, 3])
    assert (r1["doc_rank"], r1["rr"], r1["page_rank"], r1["doc_hit@1"], r1["page_hit@3"]) == (2, 0.5, 2, False, True)
    assert r1["precision@3"] == pytest.approx(2 / 3) and r1["doc_recall@3"] == 1.0
    assert (r2["doc_rank"], r2["doc_recall@3"], r2["precision@3"], "page_rank" in r2) == (1, 0.5, 1 / 3, False)
    s = summarise([r1, r2], [1, 3])
    assert s["n"] == 2 and s["n_with_pages"] == 1
    assert s["doc_hit@1"] == 0.5 and s["doc_hit@3"] == 1.0 and s["mrr"] == 0.75
    assert s["doc_recall@3"] == 0.75 and s["page_hit@1"] == 0.0 and s["page_mrr"] == 0.5
    assert list(group_rows([r1, r2])) == ["all", "single-doc", "multi-doc", "Multi-Doc"]


def test_numbers_are_compared_as_quantities():
    (q,) = parse_numbers("net sales were $82,959 million")
    assert q.value == 82_959e6 and q.currency and q.grouped
    assert [n.value for n in parse_numbers("up 8.5% to 1.2 billion in Q3 2023")] == [8.5, 1.2e9, 2023]
    assert parse_numbers("8.5%")[0].percent
    assert same_quantity(parse_numbers("$82,959 million")[0], parse_numbers("$83.0 billion")[0])
    assert same_quantity(parse_numbers("$82,959 million")[0], parse_numbers("82.959 billion")[0])
    assert not same_quantity(parse_numbers("$82,959 million")[0], parse_numbers("$82.0 billion")[0])
    assert not same_quantity(parse_numbers("25%")[0], parse_numbers("25")[0])
    gold = "For the quarter ended June 25, 2022, total net sales were $82,959 million, or 25.93% of the year, in 3 months."
    assert [n.text for n in salient_numbers(gold)] == ["$82,959 million", "25.93%"]


def test_phrases_and_abstentions():
    assert contains_phrase("Gross margin was $36.4 billion.", "$36,413 million")
    assert contains_phrase("It relates to the Nuance acquisition!", "nuance ACQUISITION")
    assert not contains_phrase("Revenue rose.", "revenue fell")
    assert gold_is_na("N/A") and gold_is_na(" n/a. ") and not gold_is_na("No, it did not.") and not gold_is_na(None)
    assert says_not_in_documents("The documents do not say what the dividend was.")
    assert says_not_in_documents("I found nothing in your documents about this.")
    assert says_not_in_documents("文档中没有提到这一点。")
    assert not says_not_in_documents("The dividend was $0.23 per share [1].")


def test_check_answer_without_a_judge():
    q = Question("q", "Gross margin?", docs=("aapl.pdf",), pages=(3,), answer="It was $36,413 million (44.5%).")
    cited = [{"file": "aapl.pdf", "page": 3, "cited": True}]
    consulted = [{"file": "aapl.pdf", "page": 3, "cited": False}, {"file": "msft.pdf", "page": 1, "cited": False}]
    good = check_answer(q, "Gross margin was $36.4 billion [1].", False, cited)
    assert (good["cites_evidence"], good["evidence_in_sources"], good["contains_gold"]) == (True, True, True)
    assert (good["gold_numbers"], good["numbers_found"], good["abstained"]) == (2, 1, False)
    vague = check_answer(q, "Margins improved.", False, consulted)
    assert (vague["cites_evidence"], vague["evidence_in_sources"], vague["contains_gold"]) == (False, True, False)
    na = Question("n", "Dividend of ACME?", docs=("aapl.pdf",), answer="N/A")
    assert check_answer(na, "The documents do not say.", False, consulted)["abstain_correct"] is True
    assert check_answer(na, "It was $1.", False, consulted)["abstain_correct"] is False
    blocked = check_answer(q, "", True, [])
    assert blocked["cites_evidence"] is None and blocked["contains_gold"] is None
    expect = Question("e", "Who?", answer="Long text", expect=("Nuance", "$19.7 billion"))
    assert check_answer(expect, "Nuance, for $19.7 billion.", False, [])["contains_gold"] is True
    assert check_answer(expect, "Nuance.", False, [])["expect_found"] == [True, False]


def test_summarise_answers():
    base = {"blocked": False, "gold_na": False, "abstained": False, "gold_numbers": 0, "numbers_found": 0,
            "latency_ms": 100.0, "tokens_per_s": 20.0}
    rows = [{**base, "cites_evidence": True, "evidence_in_sources": True, "contains_gold": True, "gold_numbers": 2,
             "numbers_found": 1, "abstain_correct": None},
            {**base, "cites_evidence": False, "evidence_in_sources": True, "contains_gold": None,
             "abstain_correct": None, "abstained": True, "latency_ms": 300.0, "tokens_per_s": 30.0},
            {**base, "gold_na": True, "abstained": True, "abstain_correct": True, "cites_evidence": False,
             "evidence_in_sources": False, "contains_gold": None},
            {**base, "blocked": True, "cites_evidence": None, "evidence_in_sources": None, "contains_gold": None,
             "abstain_correct": None, "tokens_per_s": None}]
    s = summarise_answers(rows)
    assert s["n"] == 4 and s["blocked"] == 0.25
    assert s["cites_evidence"] == pytest.approx(1 / 3) and s["evidence_in_sources"] == pytest.approx(2 / 3)
    assert s["contains_gold"] == 1.0 and s["checkable_gold"] == 1 and s["number_recall"] == 0.5
    assert s["abstain_correct"] == 1.0 and s["gold_na"] == 1 and s["false_abstention"] == 0.5
    assert s["latency"]["p50_ms"] == 100.0 and s["tokens_per_s"] == pytest.approx(70 / 3)
    assert "faithfulness" not in s


def _verdict(status, ms=1.0, categories=()):
    return {"status": status, "ms": ms, "categories": list(categories)}


def test_combined_guard_decision():
    assert combine([_verdict("passed"), _verdict("missing")]) == {"status": "passed", "categories": [], "ms": 2.0,
                                                                  "partial": True}
    assert combine([_verdict("blocked", categories=["weapons"]), _verdict("passed")])["status"] == "blocked"
    assert combine([_verdict("passed"), _verdict("error")])["status"] == "blocked"
    assert combine([_verdict("missing"), _verdict("missing")])["status"] == "missing"


def test_guard_summary_reports_a_missing_layer_as_missing():
    def row(label, cats, kw, lg):
        r = {"label": label, "categories": cats, "keyword": kw, "llama_guard": lg}
        r["both"] = combine([kw, lg])
        return r

    rows = [row("unsafe", ["H"], _verdict("blocked", categories=["hate"]), _verdict("missing")),
            row("unsafe", ["H", "V"], _verdict("passed"), _verdict("missing")),
            row("unsafe", ["V"], _verdict("passed"), _verdict("missing")),
            row("safe", [], _verdict("blocked", categories=["hate"]), _verdict("missing")),
            row("safe", [], _verdict("passed", ms=3.0), _verdict("missing")),
            row("safe", [], _verdict("passed"), _verdict("missing"))]
    s = summarise_guard(rows, ["H", "V"])
    assert (s["prompts"], s["unsafe"], s["safe"]) == (6, 3, 3)
    kw = s["layers"]["keyword"]
    assert kw["block_rate_unsafe"] == pytest.approx(1 / 3) and kw["false_positive_rate_safe"] == pytest.approx(1 / 3)
    assert kw["per_category"] == {"H": {"unsafe": 2, "blocked": 1, "block_rate": 0.5},
                                  "V": {"unsafe": 2, "blocked": 0, "block_rate": 0.0}}
    assert kw["fired"] == {"hate": 2} and kw["latency"]["max_ms"] == 3.0
    lg = s["layers"]["llama_guard"]
    assert lg["available"] is False and lg["block_rate_unsafe"] is None and lg["status"]["missing"] == 6
    assert s["layers"]["both"]["block_rate_unsafe"] == pytest.approx(1 / 3) and s["layers"]["both"]["partial"] == 6


def test_judge_scores_and_model_labels():
    assert parse_score("4") == 4 and parse_score("Score: 5/5") == 5 and parse_score("I'd say 3.") == 3
    assert parse_score("7") is None and parse_score("2.5") is None and parse_score("no idea") is None
    from pathlib import Path

    assert model_label(Path("/m/a.gguf"), {}) == "a.gguf"
    assert model_label(Path("/n/a.gguf"), {"a.gguf": 1, "a.gguf (2)": 1}) == "a.gguf (3)"


def test_model_summary():
    rows = [{"blocked": False, "latency_ms": 1000.0, "timings": {"first_token_ms": 100.0}, "tokens_per_s": 20.0,
             "tokens": 20, "answer": "abcd", "checks": [{"stage": "question", "layer": "keyword", "status": "passed"}]},
            {"blocked": True, "latency_ms": 10.0, "timings": {}, "tokens_per_s": None, "tokens": 0, "answer": "",
             "checks": [{"stage": "question", "layer": "keyword", "status": "blocked"}]}]
    s = summarise_model(rows)
    assert (s["n"], s["blocked"], s["first_token_ms"], s["tokens_per_s"], s["tokens"], s["answer_chars"]) == \
        (2, 1, 100.0, 20.0, 20, 2.0)
    assert s["latency"]["mean_ms"] == 505.0
    assert s["checks"] == {"question/keyword/blocked": 1, "question/keyword/passed": 1}


def test_markdown_table_escapes_cells():
    assert markdown_table(["a", "b"], [["x|y", "line\nbreak"]]) == "| a | b |\n|---|---|\n| x\\|y | line break |"


def test_template_less_gemma_gets_the_gemma_chat_format():
    assert fallback_chat_format({"general.architecture": "gemma3"}) == "gemma"
    assert fallback_chat_format({"general.architecture": "gemma3", "tokenizer.chat_template": "{{x}}"}) is None
    assert fallback_chat_format({"general.architecture": "llama"}) is None
