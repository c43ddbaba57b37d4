"""The Llama Guard layer through llama.cpp on a real GGUF.

No Llama Guard weights can be installed here, so SmolLM2 stands in with verify_model=False:
it proves the plumbing (tokenisation, prefix reuse, first-token scoring, fail-closed paths),
not the verdicts, which would need the real model.
"""

import pytest

from guard import LlamaGuard, MissingGuard
from guard.windows import split_windows


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


def test_threshold_decides(stand_in):
    stand_in.threshold = 0.0
    try:
        v = stand_in.check([("user", "What is the dividend?")])
    finally:
        stand_in.threshold = 0.5
    assert v.status == "blocked" and v.score >= 0.0 and "P(unsafe)" in v.reason


def _counting_eval(llm, evaluated):
    real_eval = llm.eval
    llm.eval = lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1]
    return real_eval


def test_consecutive_checks_reuse_the_policy_prefix(stand_in):
    stand_in.check([("user", "first question about revenue")])
    llm = stand_in._llm
    before = llm.n_tokens
    evaluated = []
    real_eval = _counting_eval(llm, evaluated)
    try:
        stand_in.check([("user", "second question about margins")])
    finally:
        llm.eval = real_eval
    assert sum(evaluated) < before / 2  # only the tail after the shared policy text is read again


def test_alternating_user_and_agent_checks_each_keep_their_prefix(stand_in):
    """The role word is in the policy's first line; each role's KV cache is saved and restored."""
    question = [("user", "What were net sales?")]
    answer = [("user", "What were net sales?"), ("assistant", "Net sales were $83.0 billion [1].")]
    first_user, first_agent = stand_in.check(question), stand_in.check(answer)
    llm = stand_in._llm
    full_agent = llm.n_tokens
    evaluated = []
    real_eval = _counting_eval(llm, evaluated)
    try:
        again_user = stand_in.check([("user", "And the gross margin?")])
        user_cost = sum(evaluated)
        evaluated.clear()
        again_agent = stand_in.check(answer[:1] + [("assistant", "Net sales were $82.9 billion [1].")])
        agent_cost = sum(evaluated)
    finally:
        llm.eval = real_eval
    assert user_cost < full_agent / 2 and agent_cost < full_agent / 2
    assert again_agent.score == pytest.approx(first_agent.score, abs=0.2)  # a restored cache, not garbage
    assert {first_user.status, again_user.status} <= {"passed", "blocked"}


def test_model_that_does_not_answer_safe_or_unsafe_fails_closed(stand_in):
    stand_in.min_format_mass = 0.5  # the product default: SmolLM2 puts little mass on safe/unsafe
    try:
        v = stand_in.check([("user", "hello there")])
    finally:
        stand_in.min_format_mass = 0.0
    assert v.status == "error" and not v.allowed and "did not answer safe/unsafe" in v.reason


def test_a_check_past_its_time_limit_fails_closed(stand_in):
    stand_in.timeout_s = 1e-6
    try:
        v = stand_in.check([("user", "a question that takes a while to read")])
    finally:
        stand_in.timeout_s = 120.0
    assert v.status == "error" and not v.allowed and "took longer than" in v.reason


def test_a_guard_busy_past_the_time_limit_fails_closed(stand_in):
    stand_in.timeout_s = 0.05
    stand_in.lock.acquire()
    try:
        v = stand_in.check([("user", "hello")])
    finally:
        stand_in.lock.release()
        stand_in.timeout_s = 120.0
    assert v.status == "error" and "busy" in v.reason


class CrashingLlamaFake:
    """Fake: a llama.cpp context whose calls fail (a decode error, out of memory...)."""

    def tokenize(self, *args, **kwargs):
        raise RuntimeError("llama_decode returned -3")

    n_tokens = 0


def test_an_error_inside_llama_cpp_fails_closed(tmp_path):
    guard = LlamaGuard(tmp_path / "never-loaded.gguf")
    guard._llm = CrashingLlamaFake()
    v = guard.check([("user", "hello")])
    assert v.status == "error" and not v.allowed and "llama_decode returned -3" in v.reason


def test_long_text_is_checked_whole_in_overlapping_windows(smollm_path):
    guard = LlamaGuard(smollm_path, verify_model=False, min_format_mass=0.0, n_ctx=448, n_threads=2)
    seen = []
    render = guard.render
    guard.render = lambda conv: (seen.append(conv[-1][1]), render(conv))[1]
    answer = " ".join(f"Item {i}: revenue grew in region {i}." for i in range(20))
    v = guard.check([("user", "Summarise the regions."), ("assistant", answer)])
    guard.close()
    assert v.status in ("passed", "blocked") and "overlapping windows" in v.reason
    windows = [w for w in seen if w and w != answer]
    assert len(windows) >= 2 and all(len(w) < len(answer) for w in windows)
    covered = set()
    for w in windows:
        start = answer.index(w)
        covered.update(range(start, start + len(w)))
    assert covered == set(range(len(answer)))  # every character was in some window: nothing cut off


def test_text_that_cannot_fit_even_in_windows_fails_closed(smollm_path):
    guard = LlamaGuard(smollm_path, verify_model=False, min_format_mass=0.0, n_ctx=320)
    v = guard.check([("user", "word " * 300), ("assistant", "fine")])
    guard.close()
    assert v.status == "error" and "too long" in v.reason and "earlier turns" in v.reason


def test_missing_guard_warns_or_blocks():
    assert MissingGuard("not installed", strict=False).check([("user", "hi")]).status == "missing"
    strict = MissingGuard("not installed", strict=True).check([("user", "hi")])
    assert strict.status == "blocked" and "require_llama_guard" in strict.reason


@pytest.mark.parametrize("text,size,overlap", [
    ("word " * 200, 64, 12),
    ("营收增长。" * 150, 50, 10),
    ("x" * 1000, 100, 20),
    ("short", 100, 20),
])
def test_windows_cover_everything_and_overlap(text, size, overlap):
    spans = split_windows(text, size, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(0 < b - a <= size for a, b in spans)
    assert all(a2 <= b1 - overlap for (_, b1), (a2, _) in zip(spans, spans[1:]))  # each shares >= overlap chars


def test_windows_refuse_sizes_that_cannot_advance():
    with pytest.raises(ValueError):
        split_windows("text", 10, 10)
