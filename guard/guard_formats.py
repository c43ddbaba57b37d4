"""The guard models Hearth can run, and what differs between them at run time.

Each format names its prompt renderer, the verdict words whose first-token probabilities give the
score, the words that count as unsafe, the text forced before decoding the categories, the stop
strings, and the category parser. guard/llama_guard.py runs any of them the same way:
P(unsafe) from the next-token logits after the prompt, categories decoded only when it blocks.

- llama-guard-3-1b / -8b: Llama 3 header tokens, S-codes (guard/llama_guard_prompt.py).
- llama-guard-2: [INST] format, S1-S11 (Llama 3 tokenizer). llama-guard-1: [INST], O1-O6 with
  policy text, custom O7... appended (Llama 2 tokenizer, whose words carry a leading space).
- qwen3guard: Qwen3Guard-Gen, the option for Chinese: 'Safety: Safe|Unsafe|Controversial', then
  'Categories: ...'. Controversial counts as unsafe (Qwen's strict mode) unless controversial_blocks
  is off; its categories are names (Violent, PII...), not codes, and excluded codes do not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from guard.llama_guard_prompt import (LG1_CATEGORIES, LG2_CATEGORIES, LG3_SPECIALS, LG3_VARIANTS, Category,
                                      GuardPrompt, categories_for, render_llama_guard_1, render_llama_guard_2,
                                      render_llama_guard_3)
from guard.qwen3guard import QWEN_CATEGORIES, QWEN_SPECIALS, parse_qwen3guard_output, render_qwen3guard
from core.errors import GuardFormatError
from guard.verdict import parse_llama_guard_output

__all__ = ["GuardFormat", "FORMATS", "FORMAT_NAMES", "guess_format", "get_format"]


@dataclass(frozen=True)
class GuardFormat:
    name: str
    title: str  # how verdicts name the model
    words: tuple[str, ...]  # verdict words the first answer token can start
    unsafe_words: tuple[str, ...]  # those that count as unsafe
    specials: tuple[str, ...]  # special tokens its template needs (checked at load)
    stops: tuple[str, ...]  # end of the verdict besides EOS
    single_token_words: bool  # the model card documents one token per verdict word (checked at load)

    def categories(self, *, excluded: Iterable[str] = (), custom: Sequence[Category] = ()) -> tuple[Category, ...]:
        skip = {c.upper() for c in excluded}
        if self.name in LG3_VARIANTS:
            return categories_for(self.name, excluded=skip, custom=custom)
        if self.name == "llama-guard-2":
            return tuple(c for c in LG2_CATEGORIES if c.code not in skip) + tuple(custom)
        if self.name == "llama-guard-1":
            return tuple(c for c in LG1_CATEGORIES if c.code not in skip) + tuple(custom)
        return tuple(Category(name, name) for name in QWEN_CATEGORIES)

    def render(self, conversation: Sequence[tuple[str, str]], categories: Sequence[Category]) -> GuardPrompt:
        if self.name in LG3_VARIANTS:
            return render_llama_guard_3(conversation, variant=self.name, categories=categories)
        if self.name == "llama-guard-2":
            return render_llama_guard_2(conversation, categories=categories)
        if self.name == "llama-guard-1":
            return render_llama_guard_1(conversation, categories=categories)
        return render_qwen3guard(conversation)

    def forced(self, word: str) -> str:
        """Text put after the prompt before decoding the categories, given the verdict word."""
        return f" {word}\n" if self.name == "qwen3guard" else f"{word}\n"

    def parse_categories(self, forced: str, generated: str, *, response: bool) -> tuple[str, ...]:
        """Categories from the forced verdict line plus what the model wrote; raises GuardFormatError."""
        text = forced + generated
        if self.name == "qwen3guard":
            return parse_qwen3guard_output(text, response=response).categories
        safe, cats = parse_llama_guard_output(text.split("\n\n")[0])
        if safe:
            raise GuardFormatError("the model wrote 'safe' after the unsafe verdict")
        return cats


_LLAMA = dict(words=("safe", "unsafe"), unsafe_words=("unsafe",))
FORMATS: dict[str, GuardFormat] = {f.name: f for f in [
    GuardFormat("llama-guard-3-1b", "Llama Guard 3", **_LLAMA, specials=LG3_SPECIALS, stops=("<|eot_id|>",),
                single_token_words=True),
    GuardFormat("llama-guard-3-8b", "Llama Guard 3", **_LLAMA, specials=LG3_SPECIALS, stops=("<|eot_id|>",),
                single_token_words=True),
    GuardFormat("llama-guard-2", "Llama Guard 2", **_LLAMA, specials=(), stops=("<|eot_id|>",),
                single_token_words=False),
    GuardFormat("llama-guard-1", "Llama Guard 1", **_LLAMA, specials=(), stops=(), single_token_words=False),
    GuardFormat("qwen3guard", "Qwen3Guard", words=("Safe", "Unsafe", "Controversial"),
                unsafe_words=("Unsafe", "Controversial"), specials=QWEN_SPECIALS[:2], stops=("<|im_end|>",),
                single_token_words=False),
]}
FORMAT_NAMES = tuple(FORMATS)


def get_format(name: str) -> GuardFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise GuardFormatError(f"unknown guard format {name!r}; known: {', '.join(FORMATS)}") from None


def guess_format(metadata: dict, path: Path) -> str:
    """The format of a guard GGUF, from its metadata and file name (Llama Guard 3 1B if nothing says)."""
    text = " ".join([metadata.get("general.size_label", ""), metadata.get("general.name", ""),
                     metadata.get("general.basename", ""), path.name]).lower().replace("_", "-")
    squeezed = text.replace("-", "").replace(" ", "")
    if "qwen3guard" in squeezed or "qwenguard" in squeezed:
        return "qwen3guard"
    if "llamaguard2" in squeezed:
        return "llama-guard-2"
    if "llamaguard7b" in squeezed or "llamaguard1" in squeezed:
        return "llama-guard-1"
    if "8b" in text or metadata.get("llama.block_count") == "32":
        return "llama-guard-3-8b"
    return "llama-guard-3-1b"

