"""Question files (JSONL, one question a line) read into Question records, with errors that name the line.

Fields of a line:
  question  (required) the question, as a user would ask it
  id        optional; defaults to "line-N"
  doc/docs  the evidence document(s), by file name with or without its extension
  page/pages  1-based evidence page(s) in those documents
  answer    the gold answer (long-form text, or "N/A" when the documents do not answer it)
  expect    a phrase or number (or a list of them) a correct answer must contain
  question_type, source, source_chunk_type, source_docs_pattern, notes: descriptive, kept in `meta`
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from core.errors import InputFileError

__all__ = ["Question", "load_questions", "read_jsonl", "resolve_docs", "QUESTION_FIELDS"]

QUESTION_FIELDS = ("question", "id", "doc", "docs", "page", "pages", "answer", "expect")
META_FIELDS = ("question_type", "source", "source_chunk_type", "source_docs_pattern", "notes")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    docs: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()
    answer: str | None = None
    expect: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict, compare=False)
    line: int = 0

    @property
    def kind(self) -> str:
        """single-doc or multi-doc (or no-doc), for grouping results."""
        return {0: "no-doc", 1: "single-doc"}.get(len(self.docs), "multi-doc")


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a missing file or a bad line raises InputFileError."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file.")
    with path.open(encoding="utf-8-sig") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                raise InputFileError(path, f"not valid JSON ({e.msg} at column {e.colno}).", n) from None
            if not isinstance(obj, dict):
                raise InputFileError(path, f"expected a JSON object, got {type(obj).__name__}.", n)
            yield n, obj


def _strings(value, name: str, path: Path, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip() for v in items):
        raise InputFileError(path, f"'{name}' must be a non-empty string or a list of them.", line)
    return tuple(str(v).strip() for v in items)


def _pages(value, name: str, path: Path, line: int) -> tuple[int, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items):
        raise InputFileError(path, f"'{name}' must be a page number (1-based) or a list of them.", line)
    return tuple(items)


def _question(obj: dict, path: Path, line: int, require_docs: bool) -> Question:
    known = QUESTION_FIELDS + META_FIELDS
    # A field that is nearly a known one is a typo ('pgae'); others (a dataset's own: 'company', 'justification')
    # are kept with the question, unused.
    typos = sorted(f for f in set(obj) - set(known) if difflib.get_close_matches(f, known, n=1, cutoff=0.75))
    if typos:
        raise InputFileError(path, f"unknown field(s) {', '.join(map(repr, typos))}; known fields: "
                                   f"{', '.join(known)}.", line)
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise InputFileError(path, "'question' is missing or empty.", line)
    docs = tuple(dict.fromkeys(_strings(obj.get("doc"), "doc", path, line) + _strings(obj.get("docs"), "docs", path,
                                                                                        line)))
    if require_docs and not docs:
        raise InputFileError(path, "no 'doc' or 'docs': the evaluation needs the evidence document.", line)
    pages = tuple(dict.fromkeys(_pages(obj.get("page"), "page", path, line) + _pages(obj.get("pages"), "pages",
                                                                                      path, line)))
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise InputFileError(path, "'answer' must be a string.", line)
    qid = obj.get("id")
    return Question(id=str(qid) if qid is not None else f"line-{line}", question=text.strip(), docs=docs,
                    pages=pages, answer=answer, expect=_strings(obj.get("expect"), "expect", path, line),
                    meta={k: v for k, v in obj.items() if k not in QUESTION_FIELDS and v is not None}, line=line)


def load_questions(path: Path | str, *, require_docs: bool = False) -> list[Question]:
    path = Path(path)
    questions = [_question(obj, path, n, require_docs) for n, obj in read_jsonl(path)]
    if not questions:
        raise InputFileError(path, "the file holds no questions.")
    seen: dict[str, int] = {}
    for q in questions:
        if q.id in seen:
            raise InputFileError(path, f"id {q.id!r} is used again (first on line {seen[q.id]}).", q.line)
        seen[q.id] = q.line
    return questions


def _key(name: str) -> str:
    return Path(name).stem.casefold() if Path(name).suffix.lower() in (".pdf", ".txt", ".md", ".markdown") \
        else name.casefold()


def resolve_docs(questions: Iterable[Question], files: Iterable[str], path: Path | str) -> list[Question]:
    """Questions with their doc names mapped onto indexed file names (an extension may be left out)."""
    by_key = {_key(f): f for f in files}
    out = []
    for q in questions:
        missing = [d for d in q.docs if _key(d) not in by_key]
        if missing:
            raise InputFileError(path, f"document(s) {', '.join(map(repr, missing))} not among the indexed files "
                                       f"({', '.join(sorted(by_key.values())) or 'none'}).", q.line)
        out.append(Question(q.id, q.question, tuple(by_key[_key(d)] for d in q.docs), q.pages, q.answer, q.expect,
                            q.meta, q.line))
    return out
