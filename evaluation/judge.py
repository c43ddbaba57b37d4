"""An optional judge model (any chat GGUF) scoring faithfulness and relevance from 1 to 5.

Faithfulness: is every claim of the answer supported by the passages the model was given?
Relevance: does the answer address the question? A judge that does not answer with a digit
gets no score (counted as unreadable), never a made-up one.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

__all__ = ["faithfulness_messages", "relevance_messages", "parse_score", "judge_rows"]

_RULES = "Reply with one digit from 1 to 5 and nothing else."


def faithfulness_messages(question: str, answer: str, sources: Sequence[dict], max_chars: int = 6000) -> list[dict]:
    per = max(200, max_chars // max(1, len(sources)))
    blocks = "\n\n".join(f"[{i}] {s['file']}, page {s['page']}:\n{s['text'][:per]}" for i, s in enumerate(sources, 1))
    return [
        {"role": "system", "content": "You check whether an answer is supported by source passages. " + _RULES},
        {"role": "user", "content": f"Passages:\n\n{blocks or '(none)'}\n\nQuestion: {question}\n\nAnswer: {answer}\n\n"
                                    "How well do the passages support every claim in the answer? "
                                    "5 = fully supported, 1 = not supported at all. " + _RULES},
    ]


def relevance_messages(question: str, answer: str) -> list[dict]:
    return [
        {"role": "system", "content": "You check whether an answer addresses a question. " + _RULES},
        {"role": "user", "content": f"Question: {question}\n\nAnswer: {answer}\n\n"
                                    "How directly does the answer address the question? "
                                    "5 = fully, 1 = not at all. " + _RULES},
    ]


_DIGIT = re.compile(r"(?<![\d.])([1-5])(?!\d|\.\d)")


def parse_score(text: str) -> int | None:
    """The first stand-alone digit 1-5 in the judge's reply, or None."""
    m = _DIGIT.search(text)
    return int(m.group(1)) if m else None


def _ask(model, messages: list[dict]) -> str:
    return "".join(model.stream(messages, max_tokens=8, temperature=0.0)).strip()


def judge_rows(model, rows: list[dict], sources: Sequence[Sequence[dict]],
               progress: Callable[[int, int], None] | None = None) -> None:
    """Add faithfulness, relevance and the judge's raw replies to each answered row (in place)."""
    for i, (row, given) in enumerate(zip(rows, sources), start=1):
        if row["blocked"] or not row["answer"].strip():
            row["faithfulness"] = row["relevance"] = None
        else:
            raw_f = _ask(model, faithfulness_messages(row["question"], row["answer"], given))
            raw_r = _ask(model, relevance_messages(row["question"], row["answer"]))
            row["faithfulness"], row["relevance"] = parse_score(raw_f), parse_score(raw_r)
            row["judge_raw"] = {"faithfulness": raw_f, "relevance": raw_r}
        if progress:
            progress(i, len(rows))
