"""Llama Guard (3, 2, 1) or Qwen3Guard-Gen through llama-cpp-python: first-token P(unsafe), fail closed.

The model's format (guard/guard_formats.py) is named by the caller or read from the GGUF."""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Iterable, Sequence

from core.errors import GuardFormatError, GuardModelError, GuardTimeout
from engine.llamacpp import open_llama
from guard.guard_formats import GuardFormat, get_format, guess_format
from guard.llama_guard_prompt import Category, GuardPrompt
from guard.verdict import Verdict
from guard.windows import split_windows

__all__ = ["LlamaGuard", "MissingGuard", "tokenize_prompt"]

log = logging.getLogger(__name__)

LAYER = "llama_guard"


MIN_WINDOW_TOKENS = 64  # a window of the checked text must hold at least this many tokens


def _check_deadline(deadline: float, limit: float) -> None:
    if time.perf_counter() > deadline:
        raise GuardTimeout(f"the check took longer than {limit:g} s (guard_timeout)")


def tokenize_prompt(prompt: GuardPrompt, tokenize, bos: Sequence[int] = ()) -> list[int]:
    """Tokens of the prompt where user and answer text can never become special tokens.

    tokenize(text: str, special: bool) -> list[int]. Plain text is tokenised in maximal runs,
    so the tokens equal those of the whole prompt tokenised at once (special tokens are
    always token boundaries), except that conversation text cannot produce special tokens.
    """
    pieces: list[tuple[str, bool]] = []  # (text, is_special)
    special_re = re.compile("(" + "|".join(map(re.escape, prompt.specials)) + ")") if prompt.specials else None
    for text, trusted in prompt.segments:
        parts = special_re.split(text) if trusted and special_re else [text]
        for i, part in enumerate(parts):
            is_special = trusted and i % 2 == 1
            if not part:
                continue
            if not is_special and pieces and not pieces[-1][1]:
                pieces[-1] = (pieces[-1][0] + part, False)
            else:
                pieces.append((part, is_special))
    tokens = list(bos)
    for text, is_special in pieces:
        tokens += tokenize(text, is_special)
    return tokens


class MissingGuard:
    """Stands in while no Llama Guard model is installed: says so on every check."""

    layer = LAYER

    def __init__(self, reason: str, *, strict: bool):
        self.reason = reason
        self.strict = strict

    @property
    def available(self) -> bool:
        return False

    def check(self, conversation: Sequence[tuple[str, str]]) -> Verdict:
        if self.strict:
            return Verdict(LAYER, "blocked", reason=f"{self.reason} require_llama_guard is on, so every turn is blocked.")
        return Verdict(LAYER, "missing", reason=self.reason)


class LlamaGuard:
    """A dedicated llama.cpp instance with its own lock, kept warm between checks.

    Consecutive checks share the long policy prefix; only the new tokens are evaluated.
    verify_model=False skips the "is this really Llama Guard" check; only tests use it,
    to drive the plumbing with a small non-guard GGUF.
    """

    layer = LAYER

    def __init__(self, model_path: Path, *, threshold: float = 0.5, n_ctx: int = 4096, n_threads: int | None = None,
                 n_gpu_layers: int = 0, variant: str | None = None, excluded: Iterable[str] = (),
                 custom_categories: Sequence[Category] = (), verify_model: bool = True,
                 min_format_mass: float = 0.5, timeout_s: float = 120.0, lock: threading.Lock | None = None,
                 controversial_blocks: bool = True, amx: bool = False):
        self.model_path = Path(model_path)
        self.amx = amx  # keep llama.cpp's AMX buffers (engine/llamacpp.py)
        self.threshold = threshold
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.variant = variant  # the format (guard/guard_formats.py); None: read from the GGUF at load
        if variant is not None:
            get_format(variant)  # an unknown name fails here, not at the first check
        self.controversial_blocks = controversial_blocks
        self.excluded = tuple(c.upper() for c in excluded)
        self.custom_categories = tuple(custom_categories)
        self.verify_model = verify_model
        self.min_format_mass = min_format_mass
        self.timeout_s = timeout_s
        self.lock = lock or threading.Lock()
        self._llm = None
        self._role: str | None = None  # whose prompt the KV cache holds now
        self._saved: dict[str, tuple] = {}  # the other role's tokens and KV cells
        self._word_ids: dict[str, set[int]] = {}  # verdict word -> first tokens it can start with

    @property
    def available(self) -> bool:
        return True

    # -- loading ---------------------------------------------------------------------------

    def load(self):
        if self._llm is not None:
            return self._llm
        if not self.model_path.is_file():
            raise GuardModelError(f"guard model {self.model_path} does not exist; run `hearth models pull "
                                  "llama-guard-3-1b` or set HEARTH_GUARD_MODEL.")
        try:
            llm = open_llama(self.model_path, amx=self.amx, n_ctx=self.n_ctx, n_threads=self.n_threads,
                        n_gpu_layers=self.n_gpu_layers, logits_all=False, verbose=False)
        except (ValueError, RuntimeError) as e:
            raise GuardModelError(f"cannot load guard model {self.model_path}: {e}") from e
        try:
            self.variant = self.variant or guess_format(llm.metadata, self.model_path)
            fmt = get_format(self.variant)
            words = {w: llm.tokenize(w.encode(), add_bos=False, special=False) for w in fmt.words}
            if self.verify_model:
                self._verify(llm, fmt, words)
            self._word_ids = self._verdict_tokens(llm, fmt, words)
        except GuardModelError:
            llm.close()
            raise
        self._llm = llm
        log.info("loaded guard model=%s format=%s verdict tokens=%s", self.model_path.name, self.variant,
                 {w: sorted(ids) for w, ids in self._word_ids.items()})
        return llm

    def _verdict_tokens(self, llm, fmt: GuardFormat, words: dict[str, list[int]]) -> dict[str, set[int]]:
        """First tokens of each verdict word, with and without a leading space (checked to decode back)."""
        out: dict[str, set[int]] = {}
        for word, plain in words.items():
            ids = set()
            for variant in (plain, llm.tokenize(b" " + word.encode(), add_bos=False, special=False)):
                piece = llm.detokenize(variant[:1]).strip() if variant and 0 <= variant[0] < llm.n_vocab() else b""
                if piece and word.encode().startswith(piece):
                    ids.add(variant[0])
            if not ids:
                raise GuardModelError(f"{self.model_path.name}: no token for {word!r} decodes back to it; this is "
                                      f"not a usable {fmt.title} model.")
            out[word] = ids
        seen: dict[int, str] = {}
        for word, ids in out.items():
            for i in ids:
                if i in seen:
                    raise GuardModelError(f"{self.model_path.name}: {seen[i]!r} and {word!r} start with the same "
                                          "token, so the verdict cannot be read from one token.")
                seen[i] = word
        return out

    def _verify(self, llm, fmt: GuardFormat, words: dict[str, list[int]]) -> None:
        meta = llm.metadata
        name = " ".join(meta.get(k, "") for k in ("general.name", "general.basename", "general.finetune"))
        problems = []
        if "guard" not in (name + " " + self.model_path.name).lower():
            problems.append(f"its metadata names it {name.strip()!r}")
        for special in fmt.specials:
            if len(llm.tokenize(special.encode(), add_bos=False, special=True)) != 1:
                problems.append(f"its vocabulary has no {special} token")
                break
        if fmt.single_token_words and any(len(ids) != 1 for ids in words.values()):
            problems.append(f"{'/'.join(fmt.words)} are not single tokens")
        if problems:
            raise GuardModelError(f"{self.model_path.name} is not a {fmt.title} model: {'; '.join(problems)}. "
                                  f"Set HEARTH_GUARD_MODEL to a {fmt.title} GGUF (and HEARTH_GUARD_FORMAT if its "
                                  "file name does not say which), or run `hearth models pull llama-guard-3-1b`.")

    # -- checking --------------------------------------------------------------------------

    @property
    def format(self) -> GuardFormat:
        return get_format(self.variant or "llama-guard-3-1b")

    @property
    def title(self) -> str:
        return self.format.title if self.variant else "Llama Guard"

    def categories(self) -> tuple[Category, ...]:
        return self.format.categories(excluded=self.excluded, custom=self.custom_categories)

    def render(self, conversation: Sequence[tuple[str, str]]) -> GuardPrompt:
        return self.format.render(conversation, self.categories())

    def check(self, conversation: Sequence[tuple[str, str]]) -> Verdict:
        """Verdict on the last message; any error, an unreadable answer or a timeout blocks (status 'error')."""
        if not self.lock.acquire(timeout=self.timeout_s):
            return Verdict(LAYER, "error", reason=f"{self.title} was busy for more than {self.timeout_s:g} s, so "
                                                  "the turn is blocked; raise guard_timeout if this machine is slow.")
        try:
            llm = self.load()
            return self._check(llm, conversation, time.perf_counter() + self.timeout_s)
        except Exception as e:  # fail closed: whatever went wrong, the turn does not pass
            log.warning("guard check failed closed: %s", e)
            return Verdict(LAYER, "error", reason=f"{self.title} check failed, so the turn is blocked: {e}")
        finally:
            self.lock.release()

    def _check(self, llm, conversation, deadline: float) -> Verdict:
        t0 = time.perf_counter()
        prompt = self.render(conversation)
        self._use_role(llm, prompt.role)
        tokens = self._tokens(llm, prompt)
        if len(tokens) < self.n_ctx:
            parts = [(self._score(llm, tokens, deadline), tokens)]
        else:  # too long for one pass: overlapping windows of the last message, each checked whole
            parts = [(self._score(llm, t, deadline), t) for t in self._window_tokens(llm, conversation)]
        (p_unsafe, word), tokens = max(parts, key=lambda part: part[0][0])
        how = f"{prompt.role} check" + (f", {len(parts)} overlapping windows" if len(parts) > 1 else "")
        if p_unsafe < self.threshold:
            return Verdict(LAYER, "passed", score=round(p_unsafe, 4),
                           reason=f"P(unsafe)={p_unsafe:.3f} < {self.threshold} ({how}, "
                                  f"{(time.perf_counter() - t0) * 1000:.0f} ms)")
        categories = self._categories(llm, tokens, deadline, word, response=prompt.role == "Agent")
        counted = tuple(c for c in categories if c not in self.excluded)
        if categories and not counted:
            return Verdict(LAYER, "passed", categories, round(p_unsafe, 4),
                           f"only excluded categories ({', '.join(categories)})")
        names = {c.code: c.name for c in self.categories() if c.name != c.code}
        listed = ", ".join(f"{c} {names.get(c, '')}".strip() for c in counted) or "categories unreadable"
        return Verdict(LAYER, "blocked", counted, round(p_unsafe, 4),
                       f"{self.title}: {word.lower()} ({listed}), P(unsafe)={p_unsafe:.3f} ({how})")

    def _score(self, llm, tokens: list[int], deadline: float) -> tuple[float, str]:
        return self._p_unsafe(self._eval_last_logits(llm, tokens, deadline))

    def _window_tokens(self, llm, conversation) -> list[list[int]]:
        """Prompts for overlapping windows of the last message, each fitting the context."""
        *earlier, (role, text) = conversation
        fixed = len(self._tokens(llm, self.render([*earlier, (role, "")])))
        budget = self.n_ctx - fixed - 8
        if budget < MIN_WINDOW_TOKENS:
            raise ValueError(f"the text is too long for the guard's context (n_ctx={self.n_ctx}): the policy and the "
                             f"earlier turns alone take {fixed} tokens")
        per_token = len(text) / max(1, len(llm.tokenize(text.encode(), add_bos=False, special=False)))
        size = max(16, int(budget * per_token * 0.9))
        for _ in range(6):
            spans = split_windows(text, size, size // 5)
            prompts = [self._tokens(llm, self.render([*earlier, (role, text[a:b])])) for a, b in spans]
            if all(len(p) < self.n_ctx for p in prompts):
                log.info("guard: %d chars checked in %d windows of <=%d chars", len(text), len(spans), size)
                return prompts
            size = size * 2 // 3
        raise ValueError(f"the text cannot be split into windows that fit the guard's context (n_ctx={self.n_ctx})")

    # -- the policy prefix, kept per role ----------------------------------------------------

    def _use_role(self, llm, role: str) -> None:
        """Swap in the KV cache of the last check for this role, keeping the other role's.

        A User check and an Agent check differ in the first line of the policy ('User' vs 'Agent'),
        so without this every alternation would re-read the whole policy. Only the sequence's KV
        cells are saved (llama_state_seq_*); Llama.save_state would also copy an n_batch x n_vocab
        logits array (over 250 MB for a 128k vocabulary) on every switch.
        """
        import ctypes

        import llama_cpp

        if self._role == role:
            return
        if self._role is not None and llm.n_tokens:
            size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
            buf = (ctypes.c_uint8 * size)()
            n = llama_cpp.llama_state_seq_get_data(llm.ctx, buf, size, 0)
            self._saved[self._role] = (list(llm.input_ids[: llm.n_tokens]), buf, n)
        saved = self._saved.pop(role, None)
        self._role = role
        if saved is None:
            return  # the longest common prefix (the policy's first line) is reused as always
        ids, buf, n = saved
        if llama_cpp.llama_state_seq_set_data(llm.ctx, buf, n, 0) != n:
            llm.n_tokens = 0
            raise RuntimeError("could not restore the guard's saved KV cache")
        llm.input_ids[: len(ids)] = ids
        llm.n_tokens = len(ids)

    def _tokens(self, llm, prompt: GuardPrompt) -> list[int]:
        bos = llm.tokenize(b"", add_bos=True, special=False)
        return tokenize_prompt(prompt, lambda text, special: llm.tokenize(text.encode(), add_bos=False,
                                                                          special=special), bos)

    def _eval_last_logits(self, llm, tokens: list[int], deadline: float):
        """Evaluate, reusing the longest prefix already in the KV cache; return the last logits."""
        import numpy as np
        import llama_cpp

        cached = llm.input_ids[: llm.n_tokens]
        keep = 0
        for a, b in zip(cached, tokens):
            if a != b:
                break
            keep += 1
        llm.n_tokens = min(keep, len(tokens) - 1)  # always evaluate at least one token for fresh logits
        step = max(1, llm.n_batch)
        for i in range(llm.n_tokens, len(tokens), step):
            _check_deadline(deadline, self.timeout_s)
            llm.eval(tokens[i:i + step])
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()

    def _p_unsafe(self, logits) -> tuple[float, str]:
        """P(unsafe) among the verdict words' first tokens, and the likeliest unsafe word; fail if the
        model put little mass on any verdict word."""
        import numpy as np

        x = logits.astype(np.float64)
        p = np.exp(x - x.max())
        p /= p.sum()
        by_word = {w: float(sum(p[i] for i in ids)) for w, ids in self._word_ids.items()}
        mass = sum(by_word.values())
        if mass < self.min_format_mass or mass <= 0.0:
            raise GuardFormatError(f"the model did not answer {'/'.join(by_word)} (their probability is {mass:.3f})")
        unsafe = [w for w in self.format.unsafe_words if self.controversial_blocks or w != "Controversial"]
        word = max(unsafe, key=lambda w: by_word[w])
        return sum(by_word[w] for w in unsafe) / mass, word

    def _categories(self, llm, tokens: list[int], deadline: float, word: str, *, response: bool) -> tuple[str, ...]:
        """Decode what follows the unsafe verdict word greedily and parse the categories (none if unreadable:
        the turn is blocked all the same)."""
        fmt = self.format
        forced_text = fmt.forced(word)
        forced = llm.tokenize(forced_text.encode(), add_bos=False, special=False)
        stop = {llm.token_eos()}
        for s in fmt.stops:
            ids = llm.tokenize(s.encode(), add_bos=False, special=True)
            if len(ids) == 1:
                stop.add(ids[0])
        limit = 48 if fmt.name == "qwen3guard" else 16
        out: list[int] = []
        for tok in llm.generate(tokens + forced, temp=0.0, top_k=1, repeat_penalty=1.0):
            _check_deadline(deadline, self.timeout_s)
            if tok in stop or len(out) >= limit:
                break
            out.append(tok)
        generated = llm.detokenize(out).decode("utf-8", errors="replace")
        try:
            return fmt.parse_categories(forced_text, generated, response=response)
        except GuardFormatError:
            return ()

    def close(self) -> None:
        self._saved.clear()
        self._role = None
        if self._llm is not None:
            self._llm.close()
            self._llm = None

