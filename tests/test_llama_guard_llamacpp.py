"""The Llama Guard layer through llama.cpp on a real GGUF.

No Llama Guard weights can be installed here, so SmolLM2 stands in with verify_model=False:
it proves the plumbing (tokenisation, prefix reuse, first-token scoring, fail-closed paths),
not the verdicts, which would need the real model.
"""

import pytest

from guard import LlamaGuard, MissingGuard


@pytest.fixture(scope="module")
def stand_in(smollm_path):
    guard = LlamaGuard(smollm_path, verify_model=False, min_format_mass=0.0, n_ctx=2048, n_threads=2)
    yield guard
    guard.close()


def test_a_non_guard_model_is_refused_in_the_product(smollm_path):
    v = LlamaGuard(smollm_path).check([("user", "hello")])
    assert v.status == "error" and not v.allowed
    assert "is not a Llama Guard 3 model" in v.reason and "<|start_header_id|>" in v.reason


def test_missing_file_blocks(tmp_path):
    v = LlamaGuard(tmp_path / "nope.gguf").check([("user", "hello")])
    assert v.status == "error" and "does not exist" in v.reason


def test_question_and_answer_checks_score_through_llama_cpp(stand_in):
    q = stand_in.check([("user", "What were Apple's net sales last quarter?")])
    a = stand_in.check([("user", "What were net sales?"), ("assistant", "Net sales were $83.0 billion [1].")])
    for v in (q, a):
        assert v.layer == "llama_guard" and v.status in ("passed", "blocked")
        assert 0.0 <= v.score <= 1.0
    assert "User check" in q.reason and "Agent check" in a.reason


def test_threshold_decides(smollm_path):
    blocking = LlamaGuard(smollm_path, verify_model=False, min_format_mass=0.0, threshold=0.0, n_ctx=2048)
    v = blocking.check([("user", "What is the dividend?")])
    assert v.status == "blocked" and v.score >= 0.0 and "P(unsafe)" in v.reason
    blocking.close()


def test_consecutive_checks_reuse_the_policy_prefix(stand_in):
    stand_in.check([("user", "first question about revenue")])
    llm = stand_in._llm
    before = list(llm.input_ids[: llm.n_tokens])
    evaluated = []
    real_eval = llm.eval
    llm.eval = lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1]
    try:
        stand_in.check([("user", "second question about margins")])
    finally:
        llm.eval = real_eval
    assert sum(evaluated) < len(before) / 3  # only the tail after the shared policy text is read again


def test_model_that_does_not_answer_safe_or_unsafe_fails_closed(smollm_path):
    guard = LlamaGuard(smollm_path, verify_model=False, n_ctx=2048)  # default min_format_mass=0.5
    v = guard.check([("user", "hello there")])
    assert v.status == "error" and not v.allowed and "did not answer safe/unsafe" in v.reason
    guard.close()


def test_text_too_long_for_the_context_fails_closed(smollm_path):
    guard = LlamaGuard(smollm_path, verify_model=False, min_format_mass=0.0, n_ctx=512)
    v = guard.check([("user", "word " * 2000)])
    assert v.status == "error" and "too long" in v.reason
    guard.close()


def test_missing_guard_warns_or_blocks():
    assert MissingGuard("not installed", strict=False).check([("user", "hi")]).status == "missing"
    strict = MissingGuard("not installed", strict=True).check([("user", "hi")])
    assert strict.status == "blocked" and "require_llama_guard" in strict.reason
