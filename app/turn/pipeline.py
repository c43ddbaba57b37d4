"""One guarded turn: question checks, retrieval, a streamed answer, answer checks, release.

The UI, the CLI and the tests all call Pipeline.run (events as they happen) or Pipeline.ask
(the finished turn). Nothing the checks have not passed is ever released, and a question the
input checks block never reaches the chat model.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterator, Protocol, Sequence

from app.turn.context import plan_context
from app.turn.grounding import (FIGURE_MODES, evidence_lines, figure_check, ground_figures, index_sources,
                                withhold)
from app.turn.prompt import NO_SOURCES_ANSWER, build_chat_messages, build_messages, cited_numbers
from app.turn.results import (Check, CheckDone, Citation, Drafting, Finished, Released, SourcesFound,
                              TurnResult)
from app.turn.support import (DEFAULT_THRESHOLD, SUPPORT_MODES, judge_support, not_found_answer, question_words,
                              support_verdict)
from core.errors import InputError
from guard.verdict import Verdict
from rag.store import Hit

__all__ = ["Pipeline", "Layer", "MAX_QUESTION_CHARS"]

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4000
_BREAKS = ("\n", ". ", "。", "！", "？", "! ", "? ")


class Layer(Protocol):
    layer: str

    def check(self, conversation: Sequence[tuple[str, str]]) -> Verdict: ...


class Pipeline:
    """retriever=None is plain chat: the same checks, no retrieval, the client's system prompt (the API)."""

    def __init__(self, *, checks: Sequence[Layer], retriever, chat_model, top_k: int = 4, max_tokens: int = 512,
                 temperature: float = 0.2, release_chars: int = 200, n_ctx: int = 4096, on_block=None,
                 figure_check: str = "mark", support_check: str = "refuse",
                 support_threshold: float = DEFAULT_THRESHOLD):
        self.checks = list(checks)
        self.on_block = on_block  # on_block(check, text): told of every blocked check (the audit log)
        self.retriever = retriever
        self.chat_model = chat_model
        self.top_k = top_k
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.release_chars = release_chars
        self.n_ctx = n_ctx
        for name, mode, modes in (("figure_check", figure_check, FIGURE_MODES),
                                  ("support_check", support_check, SUPPORT_MODES)):
            if mode not in modes:
                raise ValueError(f"{name} is one of {', '.join(modes)}; not {mode!r}")
        self.figure_check = figure_check  # figures not in the sources: marked, withheld or not checked (grounding.py)
        self.support_check, self.support_threshold = support_check, support_threshold  # support.py

    def ask(self, question: str, **kwargs) -> TurnResult:  # the finished turn: run() consumed to the end
        for event in self.run(question, **kwargs):
            if isinstance(event, Finished):
                return event.result
        raise AssertionError("run() ended without a result")

    def run(self, question: str, *, history: Sequence[tuple[str, str]] = (), doc_ids: Sequence[str] | None = None,
            k: int | None = None, stop: threading.Event | None = None, search_only: bool = False,
            system: str | None = None, screen: Sequence[str] = ()) -> Iterator:
        """The turn's events. search_only: checks and retrieval, then the passages without the model.

        screen: other text the caller supplied (an API client's system prompt and earlier turns), checked
        like the question before it; system: the client's system prompt, used in plain chat only."""
        q = question.strip()
        turn = TurnResult(question=q)
        if not q:
            raise InputError("the question is empty; type a question first.")
        if len(q) > MAX_QUESTION_CHARS:
            raise InputError(f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}: "
                             "shorten it.")

        t0 = time.perf_counter()
        for text in [*(t.strip() for t in screen if t and t.strip()), q]:
            if not (yield from self._checked(turn, "question", [("user", text)], text)):
                return
        turn.timings["question_checks_ms"] = _ms(t0)

        if self.retriever is None:
            yield from self._chat(turn, q, history, system, stop)
            return
        t0 = time.perf_counter()
        hits = self.retriever.search(q, k or self.top_k, doc_ids)
        turn.timings["retrieval_ms"] = _ms(t0)
        if search_only:
            turn.sources = hits
            turn.citations = _uncited(hits)
            yield SourcesFound(hits)
            yield Finished(turn)
            return
        if not (yield from self._supported(turn, q, hits, doc_ids)):
            return
        summary = ""
        if hits:
            plan = plan_context(q, hits, history, n_ctx=self.n_ctx, max_tokens=self.max_tokens,
                                count=self.chat_model.count_tokens)
            turn.sources, history, summary = plan.sources, plan.history, plan.summary
            turn.history_dropped = plan.dropped_turns
            turn.message = " ".join([turn.message, *plan.notes()]).strip()
        yield SourcesFound(turn.sources)

        yield from self._answer(turn, q, history, stop, summary=summary)

    def _supported(self, turn: TurnResult, q: str, hits: Sequence[Hit], doc_ids) -> Iterator:
        """The support check (support.py); refused: the closest passages, no answer. Returns whether the model runs."""
        if self.support_check == "off" or not hits:
            return True
        t0, present = time.perf_counter(), getattr(self.retriever, "present_words", None)  # a Library has both
        docs = [d for d in getattr(self.retriever, "abouts", list)() if doc_ids is None or d.doc_id in doc_ids]
        support = judge_support(q, hits, docs, present(question_words(q)) if present else None,
                                threshold=self.support_threshold)
        check = support_verdict(support, self.support_check, round(_ms(t0), 3))
        turn.checks.append(check)
        yield CheckDone(check)
        if support.supported or self.support_check == "warn":
            turn.message = "" if support.supported else f"{check.reason} Check the answer against the sources."
            return True
        turn.not_found, turn.sources, turn.citations = True, list(hits), _uncited(hits)
        turn.answer = not_found_answer(support)
        yield SourcesFound(turn.sources)
        yield Released(turn.answer)
        yield Finished(turn)
        return False

    def _chat(self, turn: TurnResult, q: str, history, system: str | None, stop) -> Iterator:
        """Plain chat: the earlier turns that fit, then the answer, checked like a grounded one."""
        plan = plan_context(q, [], history, n_ctx=self.n_ctx, max_tokens=self.max_tokens,
                            count=self.chat_model.count_tokens, history_share=0.75)
        turn.history_dropped = plan.dropped_turns
        turn.message = " ".join(plan.notes())
        yield SourcesFound([])
        yield from self._answer(turn, q, plan.history, stop, build_chat_messages(q, plan.history, system))

    def _answer(self, turn: TurnResult, q: str, history, stop, messages: list[dict] | None = None,
                summary: str = "") -> Iterator:
        index = index_sources(turn.sources) if self.figure_check != "off" else []
        answer = yield from self._generate(turn, q, history, stop, messages, summary, index)
        if turn.blocked:
            yield Finished(turn)
            return
        answer = answer.strip()
        t0 = time.perf_counter()
        if not (yield from self._checked(turn, "answer", [("user", q), ("assistant", answer)], answer)):
            return
        turn.timings["answer_checks_ms"] = turn.timings.get("answer_checks_ms", 0.0) + _ms(t0)
        turn.citations = self._citations(answer, turn.sources)
        turn.answer = answer
        if index:
            turn.answer = self._ground(turn, q, answer, index)
            yield CheckDone(turn.checks[-1])
        yield Released(turn.answer)
        yield Finished(turn)

    def _ground(self, turn: TurnResult, q: str, answer: str, index) -> str:
        """Link the answer's figures to their sources, count them in the checks, and add the source lines that hold
        the asked-for figures when some are not in the sources. Returns the text to release (withheld or not)."""
        t0 = time.perf_counter()
        found = ground_figures(answer, index)
        turn.figures = [link for _, link in found]
        if not all(link.grounded for link in turn.figures):
            turn.evidence = evidence_lines(q, turn.sources)
        turn.timings["figure_check_ms"] = _ms(t0)
        turn.checks.append(figure_check(turn.figures, self.figure_check, round(_ms(t0), 3)))
        return withhold(answer, found) if self.figure_check == "withhold" else answer

    def _shown(self, window: str, index) -> str:
        """A checked piece as released: in withhold mode, without the figures the sources do not hold."""
        return withhold(window, ground_figures(window, index)) if index and self.figure_check == "withhold" else window

    def _generate(self, turn: TurnResult, q: str, history, stop, messages: list[dict] | None = None,
                  summary: str = "", index=()) -> Iterator:
        """Stream the answer, releasing checked pieces; returns the full text (or '' if blocked)."""
        if messages is None:
            if not turn.sources:
                return NO_SOURCES_ANSWER
            messages = build_messages(q, turn.sources, history, summary)
        t0 = time.perf_counter()
        text, released_upto, tokens = "", 0, 0
        generation = self.chat_model.stream(messages, max_tokens=self.max_tokens, temperature=self.temperature,
                                            stop=stop)
        try:
            for piece in generation:
                if tokens == 0:
                    turn.timings["first_token_ms"] = _ms(t0)
                tokens += 1
                text += piece
                yield Drafting(tokens)
                cut = _release_point(text, released_upto, self.release_chars)
                if cut:
                    t1 = time.perf_counter()
                    window = text[:cut].strip()
                    for check in self._run_checks("answer", [("user", q), ("assistant", window)]):
                        if not check.allowed:
                            turn.checks.append(check)
                            yield CheckDone(check)
                            self._report(check, window)
                            self._block(turn, check)
                            return ""
                    turn.timings["answer_checks_ms"] = turn.timings.get("answer_checks_ms", 0.0) + _ms(t1)
                    released_upto = cut
                    yield Released(self._shown(window, index))
        finally:  # also when the answer is blocked or the caller goes away: the model is freed at once
            generation.close()
            self._count(turn, generation.stats, tokens)
        turn.timings["generation_ms"] = _ms(t0)
        turn.stopped = bool(stop is not None and stop.is_set())
        return text

    @staticmethod
    def _count(turn: TurnResult, stats, tokens: int) -> None:  # from this turn's Generation, not the shared model
        turn.timings["tokens"] = tokens
        turn.timings["prompt_tokens"] = stats.prompt_tokens
        if stats.prompt_eval_ms:  # prompt reading, as llama.cpp measured it
            turn.timings["prompt_eval_ms"] = stats.prompt_eval_ms

    def check(self, text: str, *, answer: str | None = None, audit: bool = True) -> list[Check]:
        """Every layer on a question, or on an answer to it, without the chat model (`hearth guard`, evaluation):
        the turn's own checks, failing closed; blocked ones go to the audit log unless audit is off."""
        stage = "question" if answer is None else "answer"
        conversation = [("user", text)] + ([("assistant", answer)] if answer is not None else [])
        checks = list(self._run_checks(stage, conversation))
        for check in checks if audit else ():
            if not check.allowed:
                self._report(check, text if answer is None else answer)
        return checks

    def _checked(self, turn: TurnResult, stage: str, conversation, text: str) -> Iterator:
        """Every check of the stage, each recorded and yielded; the first that blocks is reported and finishes the
        turn. Returns whether the text passed."""
        for check in self._run_checks(stage, conversation):
            turn.checks.append(check)
            yield CheckDone(check)
            if not check.allowed:
                self._report(check, text)
                yield Finished(self._block(turn, check))
                return False
        return True

    def _run_checks(self, stage: str, conversation) -> Iterator[Check]:
        for layer in self.checks:
            t0 = time.perf_counter()
            try:
                verdict = layer.check(conversation)
            except Exception as e:  # a check never fails open: any error blocks the turn
                log.exception("%s check crashed", layer.layer)
                verdict = Verdict(layer.layer, "error", reason=f"{layer.layer} check failed ({e}); blocked to be safe")
            yield Check(stage, verdict.layer, verdict.status, verdict.categories, verdict.score, verdict.reason,
                        round(_ms(t0), 3))

    def _report(self, check: Check, text: str) -> None:
        """Tell the audit log; a failure to write it is logged, and the turn stays blocked."""
        if self.on_block is not None:
            try:
                self.on_block(check, text)
            except Exception:
                log.exception("could not record a blocked %s in the audit log", check.stage)

    @staticmethod
    def _block(turn: TurnResult, check: Check) -> TurnResult:
        turn.blocked = True
        turn.blocked_by = f"{check.stage}/{check.layer}"
        turn.answer = ""
        what = "question" if check.stage == "question" else "answer"
        turn.message = f"Blocked: the {what} did not pass the {check.layer.replace('_', ' ')} check. {check.reason}"
        return turn

    @staticmethod
    def _citations(answer: str, sources: Sequence[Hit]) -> list[Citation]:
        numbers = cited_numbers(answer, len(sources))
        chosen = numbers or list(range(1, len(sources) + 1))
        return [Citation(n, sources[n - 1].file, sources[n - 1].page, sources[n - 1].doc_id, sources[n - 1].text,
                         cited=bool(numbers), chunk_id=sources[n - 1].chunk_id) for n in chosen]


def _uncited(hits: Sequence[Hit]) -> list[Citation]:  # search only, or not in the documents
    return [Citation(i, h.file, h.page, h.doc_id, h.text, cited=False, chunk_id=h.chunk_id) for i, h in enumerate(hits, 1)]


def _release_point(text: str, released_upto: int, every: int) -> int:
    """Where to cut the next checked piece: a sentence or line end at least `every` chars on, else 0."""
    if every <= 0 or len(text) - released_upto < every:
        return 0
    cut = max(text.rfind(b, released_upto) for b in _BREAKS)
    return cut + 1 if cut >= released_upto + every // 2 else 0


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
