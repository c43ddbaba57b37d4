"""Fitting a turn into the model's context window. Pure functions, tested with literal numbers.

The question and the system rules always go in; then the newest earlier turns, up to a share of
what is left (the oldest are dropped first, and their questions are folded into a one-line
summary while it fits); the sources take the rest, in rank order. Whatever is dropped is counted
so the user can be told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from app.turn.prompt import build_messages, fit_sources
from core.errors import InputError
from rag.store import Hit

__all__ = ["ContextPlan", "plan_context", "summarise_turns", "HISTORY_SHARE", "MESSAGE_OVERHEAD"]

HISTORY_SHARE = 0.25  # of the prompt budget, at most, for earlier turns
MESSAGE_OVERHEAD = 8  # template tokens around each message
SAFETY = 64  # tokens kept free for template differences
SUMMARY_QUESTION_CHARS = 160  # each left-out question, at most, in the summary


@dataclass
class ContextPlan:
    sources: list[Hit] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    dropped_sources: int = 0
    dropped_turns: int = 0
    summary: str = ""  # the left-out turns' questions, in one line, for the model

    def notes(self) -> list[str]:
        out = []
        if self.dropped_sources:
            total = self.dropped_sources + len(self.sources)
            out.append(f"{self.dropped_sources} of {total} passages did not fit the model's context and were left out.")
        if self.dropped_turns:
            kept = " (their questions are kept as a summary)" if self.summary else ""
            out.append(f"{self.dropped_turns} earlier turn(s) of this conversation were left out to fit the "
                       f"model's context{kept}.")
        return out


def plan_context(question: str, hits: Sequence[Hit], history: Sequence[tuple[str, str]], *, n_ctx: int,
                 max_tokens: int, count: Callable[[str], int], history_share: float = HISTORY_SHARE) -> ContextPlan:
    """Choose the history and sources that fit n_ctx beside the answer's max_tokens."""
    fixed = sum(count(m["content"]) + MESSAGE_OVERHEAD for m in build_messages(question, [], ()))
    available = n_ctx - max_tokens - SAFETY - fixed
    if available < 0:
        raise InputError(f"the question is too long for the model's context ({fixed} tokens with the rules, "
                         f"{n_ctx - max_tokens - SAFETY} available); shorten it or raise HEARTH_N_CTX.")
    kept: list[tuple[str, str]] = []
    used = 0
    for q, a in reversed(list(history)):
        cost = count(q) + count(a) + 2 * MESSAGE_OVERHEAD
        if used + cost > available * history_share:
            break
        kept.insert(0, (q, a))
        used += cost
    dropped = list(history)[:len(history) - len(kept)]
    summary = summarise_turns(dropped, int(available * history_share) - used, count)
    if summary:
        used += count(summary) + MESSAGE_OVERHEAD
    sources = fit_sources(hits, available - used, count)
    return ContextPlan(sources, kept, len(hits) - len(sources), len(dropped), summary)


def summarise_turns(turns: Sequence[tuple[str, str]], budget_tokens: int, count: Callable[[str], int]) -> str:
    """Left-out turns as one line of their questions, newest kept first; '' when none fits the budget."""
    questions: list[str] = []
    for q, _ in reversed(list(turns)):
        flat = " ".join(q.split())
        flat = flat[:SUMMARY_QUESTION_CHARS] + ("…" if len(flat) > SUMMARY_QUESTION_CHARS else "")
        line = _summary_line([flat] + questions)
        if count(line) + MESSAGE_OVERHEAD > budget_tokens:
            break
        questions.insert(0, flat)
    return _summary_line(questions) if questions else ""


def _summary_line(questions: Sequence[str]) -> str:
    asked = "; ".join(f"\"{q}\"" for q in questions)
    return f"Earlier in this conversation (left out to save space) the user asked: {asked}."
