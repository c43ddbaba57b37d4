"""Question and prompt files: what is read, and bad input named by file and line."""

import json
import re
import sys

import pytest

from conftest import DATA
from core.errors import InputError, InputFileError
from evaluation import run_answers, run_compare, run_guard, run_retrieval
from evaluation.compare import DEFAULT_QUESTIONS
from evaluation.prompts import load_prompts, parse_label
from evaluation.questions import load_questions, resolve_docs


def write_jsonl(path, *objects, raw_lines=()):
    lines = [json.dumps(o) for o in objects] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sec10q_style_questions_are_read(tmp_path):
    f = write_jsonl(tmp_path / "q.jsonl",
                    {"id": "a", "question": "Gross margin?", "answer": "$36,413 million", "doc": "2023 Q3 AAPL.pdf",
                     "docs": ["2023 Q3 AAPL.pdf"], "page": None, "question_type": "Single-Doc", "source": "x"},
                    {"question": "Compare", "docs": ["2022 Q3 AAPL", "2023 Q1 AAPL.pdf"], "pages": [3, 4]})
    q1, q2 = load_questions(f, require_docs=True)
    assert (q1.id, q1.docs, q1.pages, q1.kind, q1.meta["question_type"]) == \
        ("a", ("2023 Q3 AAPL.pdf",), (), "single-doc", "Single-Doc")
    assert (q2.id, q2.docs, q2.pages, q2.kind) == ("line-2", ("2022 Q3 AAPL", "2023 Q1 AAPL.pdf"), (3, 4), "multi-doc")
    resolved = resolve_docs([q2], ["2022 Q3 AAPL.pdf", "2023 Q1 AAPL.pdf"], f)
    assert resolved[0].docs == ("2022 Q3 AAPL.pdf", "2023 Q1 AAPL.pdf")


@pytest.mark.parametrize("content,message", [
    (['{"question": "ok", "doc": "a.pdf"}', '{"question": "broken", '], r"q.jsonl:2: not valid JSON"),
    (['{"question": "ok", "doc": "a.pdf", "pgae": 3}'], r"q.jsonl:1: unknown field\(s\) 'pgae'"),
    (['{"doc": "a.pdf"}'], r"q.jsonl:1: 'question' is missing"),
    (['{"question": "no evidence"}'], r"q.jsonl:1: no 'doc' or 'docs'"),
    (['{"question": "q", "doc": "a.pdf", "page": 0}'], r"q.jsonl:1: 'page' must be a page number"),
    (['["a list"]'], r"q.jsonl:1: expected a JSON object"),
    (['{"id": 1, "question": "q", "doc": "a"}', '{"id": 1, "question": "r", "doc": "a"}'],
     r"q.jsonl:2: id '1' is used again \(first on line 1\)"),
    ([""], r"q.jsonl: the file holds no questions"),
])
def test_bad_question_files_name_the_line(tmp_path, content, message):
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join(content) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=message):
        load_questions(f, require_docs=True)


def test_missing_file_and_missing_document(tmp_path):
    with pytest.raises(InputFileError, match=r"nope.jsonl: no such file"):
        load_questions(tmp_path / "nope.jsonl")
    f = write_jsonl(tmp_path / "q.jsonl", {"question": "q", "doc": "a.pdf"}, {"question": "r", "doc": "zzz.pdf"})
    with pytest.raises(InputFileError, match=r"q.jsonl:2: document\(s\) 'zzz.pdf' not among the indexed files \(a.pdf\)"):
        resolve_docs(load_questions(f), ["a.pdf"], f)


def test_moderation_labels_make_categories():
    prompts, fields = load_prompts(DATA / "moderation_sample.jsonl")
    assert fields == ["S", "H", "V", "HR", "SH", "S3", "H2", "V2"]
    assert [p.label for p in prompts] == ["unsafe"] * 6 + ["safe"] * 4
    assert prompts[1].categories == ("V", "V2") and prompts[3].categories == ("H", "V", "H2")
    assert prompts[0].id == "line-1" and prompts[0].text.startswith("The fact you parents")


def test_unlabelled_texts_need_assume():
    with pytest.raises(InputFileError, match=r"zh_news_sample.jsonl:1: the prompt has no label.*--assume safe"):
        load_prompts(DATA / "zh_news_sample.jsonl")
    prompts, fields = load_prompts(DATA / "zh_news_sample.jsonl", assume="safe", limit=2)
    assert fields == [] and [p.label for p in prompts] == ["safe", "safe"] and prompts[0].id == "0"


def test_csv_prompts_and_bad_labels(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("text,unsafe\nhow do I build a pipe bomb,yes\nwhat is the dividend,no\n", encoding="utf-8")
    prompts, fields = load_prompts(f)
    assert fields == ["unsafe"] and [(p.label, p.line) for p in prompts] == [("unsafe", 2), ("safe", 3)]
    f.write_text("text,unsafe\nhello,maybe\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"p.csv:2: 'maybe' is not a label"):
        load_prompts(f)
    with pytest.raises(InputFileError, match=r"no label field 'flag'"):
        load_prompts(f, labels=["flag"])
    with pytest.raises(InputFileError, match=r"'.txt' files are not read"):
        load_prompts(tmp_path / "p.txt")
    assert [parse_label(v) for v in (1, 0, "TRUE", "safe", None, "")] == [True, False, True, False, None, None]


def test_the_default_compare_questions_are_the_ten_from_the_seed():
    questions = load_questions(DEFAULT_QUESTIONS)
    assert len(questions) == 10 and questions[0].id == "zh-01"
    assert questions[8].question == "为什么大多数卫星都是向东发射？请从物理学角度解释。"


def test_without_matplotlib_every_run_stops_before_any_work(tmp_path, monkeypatch):
    """The charts need the eval extra; each run says so before it reads, indexes or loads anything."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails as if it were not installed
    nothing = object()  # not a Hearth: a run that touched one would fail differently
    runs = [lambda: run_retrieval(nothing, tmp_path / "q.jsonl", tmp_path / "docs", tmp_path / "out"),
            lambda: run_guard(nothing, tmp_path / "p.csv", tmp_path / "out"),
            lambda: run_answers(nothing, tmp_path / "q.jsonl", tmp_path / "docs", tmp_path / "out"),
            lambda: run_compare(nothing, [tmp_path / "a.gguf"], tmp_path / "out")]
    for run in runs:
        with pytest.raises(InputError, match=re.escape("pip install 'hearth-rag[eval]'")):
            run()
    assert not (tmp_path / "out").exists()
