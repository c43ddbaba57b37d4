"""Multi-query rewriting: the chat model writes a few other phrasings of a question; HybridSearch searches each
and fuses all rankings by reciprocal rank. Off by default (setting query_rewrite): with this machine's default
model (SmolLM2) it cost a generation per question (search p50 0.7 s -> 11.2 s) and lowered MRR (0.681 -> 0.588)
for one more right filing in the top 5 of 25; see benchmarks/bench_retrieval.py. A larger chat model may do better."""

from __future__ import annotations

import logging
import re
from typing import Callable, Sequence

__all__ = ["ChatRewriter", "parse_rewrites", "rewrite_messages"]

log = logging.getLogger(__name__)

MAX_CHARS = 300  # a longer line is an answer or a ramble, not a search query
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|[(]\d+[)]|q\d*[:.)])\s*", re.IGNORECASE)
_PREAMBLE = re.compile(r"^(here (are|is)|sure|rephras|alternative|other (ways|phrasings))", re.IGNORECASE)

SYSTEM = ("You rewrite search questions. Write {n} different short rephrasings of the question, one per line, "
          "keeping every name, number, date and period in it. Never answer it.")
# One worked example: small chat models answer (and invent figures) instead of rephrasing without one.
EXAMPLE = ("How did Intel's revenue change in Q2 2023?",
           "1. Intel revenue change in the second quarter of 2023\n2. What happened to Intel's revenue in Q2 2023?\n"
           "3. Intel Q2 2023 revenue compared with earlier quarters")


def rewrite_messages(question: str, n: int = 3) -> list[dict]:
    return [{"role": "system", "content": SYSTEM.format(n=n)}, {"role": "user", "content": EXAMPLE[0]},
            {"role": "assistant", "content": EXAMPLE[1]}, {"role": "user", "content": question}]


def parse_rewrites(text: str, question: str, limit: int = 3) -> list[str]:
    """The distinct rephrasings in a model's reply: bullets and numbering stripped, preambles, copies of the
    question and overlong lines dropped, at most `limit`. Pure."""
    out: list[str] = []
    seen = {_key(question)}
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip().strip('"“”\'').strip()
        if not line or len(line) > MAX_CHARS or line.endswith(":") or _PREAMBLE.match(line):
            continue
        if _key(line) in seen:
            continue
        seen.add(_key(line))
        out.append(line)
        if len(out) == limit:
            break
    return out


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


class ChatRewriter:
    """rewrite(question) -> rephrasings by a chat model with a `stream(messages, max_tokens=, temperature=)`,
    which get_model() returns when first needed (so a Library can be built without loading the model).

    Rewriting only widens a search, so a failure of the model logs and returns none: the question itself
    is still searched."""

    def __init__(self, get_model: Callable[[], object], *, n: int = 3, max_tokens: int = 120):
        self.get_model, self.n, self.max_tokens = get_model, n, max_tokens

    def __call__(self, question: str) -> Sequence[str]:
        try:
            text = "".join(self.get_model().stream(rewrite_messages(question, self.n), max_tokens=self.max_tokens,
                                             temperature=0.0))
        except Exception:  # noqa: BLE001 - see the class docstring
            log.exception("query rewriting failed; searching the question alone")
            return []
        return parse_rewrites(text, question, self.n)
