"""False positives of the default lists on real benign text (copies in tests/data), and recall on harm."""

import json

import pytest

from conftest import DATA
from guard import KeywordFilter

LABELS = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")


@pytest.fixture(scope="module")
def kf():
    return KeywordFilter()


def test_ordinary_chinese_news_is_left_alone(kf):
    lines = (DATA / "zh_news_benign" / "crud_rag_news_sample500.jsonl").read_text(encoding="utf-8").splitlines()
    articles = [json.loads(line)["text"] for line in lines]
    flagged = [a[:60] for a in articles if kf.scan(a)]
    assert len(articles) == 500
    assert len(flagged) <= 5, flagged  # the target: at most 5 of 500 (measured: 0)


def test_benign_english_prompts_are_left_alone(kf):
    rows = [json.loads(line) for line in (DATA / "openai_moderation.jsonl").read_text(encoding="utf-8").splitlines()]
    benign = [r["prompt"] for r in rows if not any(r.get(k) == 1 for k in LABELS)]
    flagged = [p[:60] for p in benign if kf.scan(p)]
    assert len(benign) == 1158
    assert len(flagged) <= len(benign) // 100, flagged  # the target: at most 1% (measured: 0)


def test_hate_prompts_with_slurs_are_caught(kf):
    rows = [json.loads(line) for line in (DATA / "openai_moderation.jsonl").read_text(encoding="utf-8").splitlines()]
    hateful = [r["prompt"] for r in rows if r.get("H") == 1]
    caught = [p for p in hateful if kf.scan(p)]
    assert len(caught) >= 8  # phrase lists catch the slurs; the rest is Llama Guard's job
