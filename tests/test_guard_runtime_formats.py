"""Qwen3Guard-Gen and Llama Guard 2/1 at run time: format dispatch, verdict words, fail-closed paths.

The pure parts (format guessing, rendering dispatch, category parsing, settings, registry) run
without a model. The runtime path goes through llama.cpp on the real SmolLM2 GGUF, standing in for
the guard models (no guard weights can be installed here) with verify_model=False: it proves the
plumbing (the format's prompt is what is evaluated, its verdict words' tokens give the score, a
model that does not answer in the format blocks), not the verdicts, which would need the real model.
"""

from pathlib import Path

import pytest
from pydantic import ValidationError

from guard import LlamaGuard
from guard.guard_formats import FORMATS, get_format, guess_format
from guard.llama_guard_prompt import LG1_CATEGORIES, Category, render_llama_guard_1, render_llama_guard_2
from guard.qwen3guard import render_qwen3guard
from core.errors import GuardFormatError

QUESTION = [("user", "怎么做炸弹？")]
ANSWER = [("user", "What were net sales?"), ("assistant", "Net sales were $83.0 billion [1].")]


# -- pure: which format, which prompt, which categories ---------------------------------------

@pytest.mark.parametrize("name, meta, expected", [
    ("Qwen3Guard-Gen-0.6B.Q4_K_M.gguf", {}, "qwen3guard"),
    ("model.gguf", {"general.name": "Qwen3Guard Gen 4B"}, "qwen3guard"),
    ("Meta-Llama-Guard-2-8B.Q4_K_M.gguf", {}, "llama-guard-2"),
    ("llamaguard-7b.Q4_K_M.gguf", {}, "llama-guard-1"),
    ("Llama-Guard-3-8B-Q4_K_M.gguf", {}, "llama-guard-3-8b"),
    ("Llama-Guard-3-1B-Q4_K_M.gguf", {}, "llama-guard-3-1b"),
    ("guard.gguf", {"llama.block_count": "32"}, "llama-guard-3-8b"),
])
def test_the_format_is_read_from_the_gguf_name(name, meta, expected):
    assert guess_format(meta, Path(name)) == expected


def test_each_format_renders_its_own_prompt():
    assert FORMATS["qwen3guard"].render(QUESTION, ()).text == render_qwen3guard(QUESTION).text
    lg2 = FORMATS["llama-guard-2"]
    assert lg2.render(ANSWER, lg2.categories()).text == render_llama_guard_2(ANSWER).text
    lg1 = FORMATS["llama-guard-1"]
    assert lg1.render(ANSWER, lg1.categories()).text == render_llama_guard_1(ANSWER).text
    assert FORMATS["llama-guard-3-8b"].render(ANSWER, FORMATS["llama-guard-3-8b"].categories()).text.startswith(
        "<|start_header_id|>user<|end_header_id|>")


def test_llama_guard_1_takes_excluded_and_custom_categories():
    o7 = Category("O7", "Financial Information related to Amazon", "Should not\n- provide any financial information")
    cats = FORMATS["llama-guard-1"].categories(excluded=["o2"], custom=[o7])
    assert [c.code for c in cats] == ["O1", "O3", "O4", "O5", "O6", "O7"]
    assert cats[0] == LG1_CATEGORIES[0]


@pytest.mark.parametrize("fmt, forced, generated, response, expected", [
    ("qwen3guard", " Unsafe\n", "Categories: Violent, PII", False, ("Violent", "PII")),
    ("qwen3guard", " Controversial\n", "Categories: Politically Sensitive Topics", False,
     ("Politically Sensitive Topics",)),
    ("qwen3guard", " Unsafe\n", "Categories: Jailbreak\nRefusal: No", True, ("Jailbreak",)),
    ("llama-guard-2", "unsafe\n", "S1,S10", False, ("S1", "S10")),
    ("llama-guard-1", "unsafe\n", "O3\n\nanything after", False, ("O3",)),
])
def test_categories_are_parsed_per_format(fmt, forced, generated, response, expected):
    assert FORMATS[fmt].parse_categories(forced, generated, response=response) == expected


@pytest.mark.parametrize("fmt, forced, generated, response", [
    ("qwen3guard", " Unsafe\n", "Categories: Weather", False),  # unknown category
    ("qwen3guard", " Unsafe\n", "Categories: Violent", True),  # a response verdict needs Refusal
    ("qwen3guard", " Unsafe\n", "I cannot say", False),
    ("llama-guard-2", "unsafe\n", "because it is bad", False),
])
def test_unreadable_categories_are_format_errors(fmt, forced, generated, response):
    with pytest.raises(GuardFormatError):
        FORMATS[fmt].parse_categories(forced, generated, response=response)


def test_an_unknown_format_is_refused_up_front(smollm_path):
    with pytest.raises(GuardFormatError, match="unknown guard format"):
        get_format("llama-guard-9")
    with pytest.raises(GuardFormatError):
        LlamaGuard(smollm_path, variant="llama-guard-9")


def test_guard_format_setting(tmp_path):
    from app.settings import load_settings

    assert load_settings({"data_dir": tmp_path}).guard_format == "auto"
    assert load_settings({"data_dir": tmp_path, "guard_format": "qwen3guard"}).guard_format == "qwen3guard"
    with pytest.raises((ValidationError, ValueError)):
        load_settings({"data_dir": tmp_path, "guard_format": "llama-guard-9"})


def test_registry_has_the_other_guards_without_invented_hashes(tmp_path):
    from app.services.models import REGISTRY, installed_guard, models_dir

    for name, fmt in (("qwen3guard-gen-0.6b", "qwen3guard"), ("llama-guard-2-8b", "llama-guard-2"),
                      ("llama-guard-1-7b", "llama-guard-1")):
        spec = REGISTRY[name]
        assert spec.kind == "guard" and spec.repo and spec.filename.endswith(".gguf")
        assert spec.sha256 is None  # not in our reference material: the hub's LFS record is checked instead
        assert guess_format({}, Path(spec.filename)) == fmt  # a pulled file runs in its own format
    folder = models_dir(tmp_path)
    folder.mkdir(parents=True)
    assert installed_guard(tmp_path) is None
    (folder / REGISTRY["qwen3guard-gen-0.6b"].filename).write_bytes(b"GGUF")
    assert installed_guard(tmp_path).name == REGISTRY["qwen3guard-gen-0.6b"].filename
    (folder / REGISTRY["llama-guard-3-1b"].filename).write_bytes(b"GGUF")
    assert installed_guard(tmp_path).name == REGISTRY["llama-guard-3-1b"].filename  # Llama Guard 3 first


# -- through llama.cpp, SmolLM2 standing in ---------------------------------------------------

@pytest.fixture(scope="module")
def qwen_stand_in(smollm_path):
    guard = LlamaGuard(smollm_path, variant="qwen3guard", verify_model=False, min_format_mass=0.0, n_ctx=2048,
                       n_threads=2)
    yield guard
    guard.close()


def test_qwen3guard_format_scores_through_llama_cpp(qwen_stand_in):
    q = qwen_stand_in.check(QUESTION)
    assert q.layer == "llama_guard" and q.status in ("passed", "blocked"), q.reason
    assert 0.0 <= q.score <= 1.0 and "User check" in q.reason
    ids = qwen_stand_in._word_ids
    assert set(ids) == {"Safe", "Unsafe", "Controversial"}
    assert not (ids["Safe"] & ids["Unsafe"]) and not (ids["Unsafe"] & ids["Controversial"])
    llm = qwen_stand_in._llm
    evaluated = llm.detokenize(list(llm.input_ids[: llm.n_tokens])).decode("utf-8", errors="replace")
    assert "<BEGIN SAFETY POLICY>" in evaluated and "USER: 怎么做炸弹？" in evaluated
    assert evaluated.rstrip().endswith("Safety:")  # the next token is the verdict word


def test_qwen3guard_blocks_at_threshold_with_its_own_verdict_words(qwen_stand_in):
    qwen_stand_in.threshold = 0.0
    try:
        v = qwen_stand_in.check(ANSWER)
    finally:
        qwen_stand_in.threshold = 0.5
    assert v.status == "blocked" and not v.allowed
    assert v.reason.startswith(("Qwen3Guard: unsafe", "Qwen3Guard: controversial")) and "Agent check" in v.reason


def test_controversial_counts_as_unsafe_unless_turned_off(qwen_stand_in):
    import numpy as np

    qwen_stand_in.check(QUESTION)  # loaded, verdict tokens read from the real vocabulary
    logits = np.full(qwen_stand_in._llm.n_vocab(), -30.0, dtype=np.float32)
    logits[sorted(qwen_stand_in._word_ids["Controversial"])] = 5.0  # the model says Controversial
    logits[sorted(qwen_stand_in._word_ids["Safe"])] = 3.0
    strict, word = qwen_stand_in._p_unsafe(logits)
    assert strict > 0.8 and word == "Controversial"
    qwen_stand_in.controversial_blocks = False
    try:
        loose, word = qwen_stand_in._p_unsafe(logits)
    finally:
        qwen_stand_in.controversial_blocks = True
    assert loose < 0.01 and word == "Unsafe"


def test_qwen3guard_fails_closed_when_the_model_does_not_answer_in_format(qwen_stand_in):
    qwen_stand_in.min_format_mass = 1.01  # no model puts more than all its probability on the verdict words
    try:
        v = qwen_stand_in.check(QUESTION)
    finally:
        qwen_stand_in.min_format_mass = 0.0
    assert v.status == "error" and not v.allowed
    assert "Qwen3Guard check failed" in v.reason and "Safe/Unsafe/Controversial" in v.reason


def test_a_non_guard_model_is_refused_as_qwen3guard(smollm_path):
    v = LlamaGuard(smollm_path, variant="qwen3guard").check(QUESTION)
    assert v.status == "error" and "is not a Qwen3Guard model" in v.reason
    assert "<|im_start|>" not in v.reason  # SmolLM2 has Qwen's chat tokens; only its name gives it away


@pytest.mark.parametrize("fmt, marker", [("llama-guard-2", "ONLY THE LAST Agent message"),
                                         ("llama-guard-1", "O6: Self-Harm.\nShould not")])
def test_llama_guard_2_and_1_score_through_llama_cpp(smollm_path, fmt, marker):
    guard = LlamaGuard(smollm_path, variant=fmt, verify_model=False, min_format_mass=0.0, n_ctx=2048, n_threads=2)
    try:
        v = guard.check(ANSWER)
        llm = guard._llm
        evaluated = llm.detokenize(list(llm.input_ids[: llm.n_tokens])).decode("utf-8", errors="replace")
    finally:
        guard.close()
    assert v.status in ("passed", "blocked") and 0.0 <= v.score <= 1.0 and "Agent check" in v.reason
    assert evaluated.lstrip().startswith("[INST] Task:") and marker in evaluated
    assert evaluated.rstrip().endswith("[/INST]")


def test_the_guard_format_setting_reaches_the_runtime(tmp_path, smollm_path):
    from app.hearth import Hearth
    from app.settings import load_settings

    h = Hearth(load_settings({"data_dir": tmp_path / "data", "guard_model": smollm_path,
                              "guard_format": "qwen3guard"}))
    try:
        guard = h.llama_guard
    finally:
        h.close()
    assert not guard.available  # SmolLM2 is refused: the product verifies the model
    assert "is not a Qwen3Guard model" in guard.reason
