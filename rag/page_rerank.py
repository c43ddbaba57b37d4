"""An optional last stage of search: the chat model reads the top pages' passages and says which answer the
question, best first; those pages move to the front, the others keep their order behind them.

Off by default (setting llm_rerank): it costs one generation per search, which a 2-core CPU running SmolLM2
cannot afford within a question's latency (and a 135M model judges passages little better than chance). It is
for a larger chat model, remote (chat_url) or on a GPU. A reply that names no passage, or a model that fails,
leaves the order as it was: reranking only reorders what search found.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Sequence

__all__ = ["ChatPageReranker", "rerank_messages", "parse_order", "PAGES"]

log = logging.getLogger(__name__)

PAGES = 8  # the pages the model reads (about 1,500 tokens of passages)
PASSAGE_CHARS = 700
SYSTEM = ("You judge search results. Below a question are numbered passages, each from one page of a document. "
          "Reply with the numbers of the passages that hold the answer or the figures needed for it, best first, "
          "separated by commas, and nothing else; reply 0 if none does.")
_NUMBER = re.compile(r"\d+")


def rerank_messages(question: str, passages: Sequence[str]) -> list[dict]:
    blocks = "\n\n".join(f"[{i}] {' '.join(p.split())[:PASSAGE_CHARS]}" for i, p in enumerate(passages, 1))
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question: {question.strip()}\n\nPassages:\n\n{blocks}\n\nNumbers, best first:"}]


def parse_order(text: str, n: int) -> list[int]:
    """The 0-based indexes a reply names among n passages, in its order, each once; numbers out of range (and
    the 0 that means none) are dropped. Pure."""
    out: list[int] = []
    for m in _NUMBER.finditer(text):
        i = int(m.group()) - 1
        if 0 <= i < n and i not in out:
            out.append(i)
    return out


class ChatPageReranker:
    """rerank(question, passages) -> indexes of the passages the chat model puts first; [] when it names none or
    fails (search keeps its order). get_model() returns a model with `stream(messages, max_tokens=, temperature=)`."""

    def __init__(self, get_model: Callable[[], object], *, pages: int = PAGES, max_tokens: int = 24):
        self.get_model, self.pages, self.max_tokens = get_model, pages, max_tokens

    def __call__(self, question: str, passages: Sequence[str]) -> list[int]:
        passages = list(passages)[:self.pages]
        if len(passages) < 2:
            return []
        try:
            text = "".join(self.get_model().stream(rerank_messages(question, passages), max_tokens=self.max_tokens,
                                                   temperature=0.0))
        except Exception:  # noqa: BLE001 - see the class docstring
            log.exception("the chat model's rerank failed; keeping search's order")
            return []
        return parse_order(text, len(passages))
