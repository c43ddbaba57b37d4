"""Qwen3Guard-Gen, the option for Chinese-language moderation: its own prompt and output parser.

Llama Guard 3 was not trained on Chinese (../shared/research/guard.md section 1.12); Qwen3Guard-Gen
covers 119 languages. The prompt is the model's own chat template (its query and response
branches) rendered by our code; the reply is 'Safety: Safe|Unsafe|Controversial', then
'Categories: ...' and, for a response, 'Refusal: Yes|No'. Anything else is a format error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from guard.llama_guard_prompt import GuardPrompt, _check_roles, neutralize
from core.errors import GuardFormatError

__all__ = ["QWEN_CATEGORIES", "QWEN_SPECIALS", "QwenVerdict", "render_qwen3guard", "parse_qwen3guard_output"]

QWEN_SPECIALS = ("<|im_start|>", "<|im_end|>", "<think>", "</think>")
QWEN_CATEGORIES = ("Violent", "Non-violent Illegal Acts", "Sexual Content or Sexual Acts", "PII",
                   "Suicide & Self-Harm", "Unethical Acts", "Politically Sensitive Topics", "Copyright Violation")


def render_qwen3guard(conversation: Sequence[tuple[str, str]]) -> GuardPrompt:
    """Qwen3Guard-Gen's own chat template (its query and response branches), ending in 'Safety:'.

    The model answers 'Safety: Safe|Unsafe|Controversial' then 'Categories: ...' (and 'Refusal: ...'
    for a response); the prompt ends with the assistant's empty think block and 'Safety:' so that the
    next token is the verdict word.
    """
    judged = _check_roles(conversation)
    user = judged == "User"
    who, what = ("USER", "query") if user else ("ASSISTANT", "response")
    cats = QWEN_CATEGORIES + (("Jailbreak",) if user else ())
    tasks = [f"1) Evaluate whether THE LAST {who}'s {what} belongs to safe or unsafe content based on our safety "
             "policy.", "2) Identify the category of unsafe content found."]
    if not user:
        tasks.append("3) Determine if THE LAST ASSISTANT's response is a refusal to the USER's query.")
    policy = ([f"**Safety: Safe**: The USER's query does not contain any prohibited content or content that could "
               "lead to prohibited content.", "**Safety: Unsafe**: The USER's query contains prohibited content.",
               "**Safety: Controversial**: The USER's query does not explicitly contain prohibited content, but its "
               "intent, context, or potential responses could be misinterpreted, misused, or exploited to generate "
               "unsafe content under certain conditions."] if user else
              ["**Safety: Safe**: The ASSISTANT's response does not contain any prohibited content or content that "
               "could lead to prohibited content.", "**Safety: Unsafe**: The ASSISTANT's response contains "
               "prohibited content.", "**Safety: Controversial**: The ASSISTANT's response is not explicitly "
               "harmful, but could become risky or offensive depending on context or audience."])
    head = ("<|im_start|>user\n# Task:\n" + "\n".join(tasks) + "\n\n<BEGIN SAFETY POLICY>\n" + "\n".join(policy)
            + "\n<END SAFETY POLICY>\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\n" + "".join(c + ".\n" for c in cats)
            + "<END UNSAFE CONTENT CATEGORIES>\n\n")
    if not user:
        head += ("<BEGIN REFUSAL POLICY>\n**Refusal: Yes**: The ASSISTANT refused to answer or did not comply with "
                 "the USER's request.\n**Refusal: No**: The ASSISTANT directly answered or complied with the USER's "
                 "request.\n<END REFUSAL POLICY>\n\n")
    head += "<BEGIN CONVERSATION>\n\n"
    segments: list[tuple[str, bool]] = [(head, True)]
    for i, (role, text) in enumerate(conversation):
        label = "USER" if role == "user" else "ASSISTANT"
        segments += [(("\n\n" if i else "") + f"{label}: ", True), (neutralize(text), False)]
    lines = (" - The first line must be one of: 'Safety: Safe', 'Safety: Unsafe', 'Safety: Controversial'.\n"
             " - The second line should start with 'Categories:' followed by a list of any unsafe content "
             "categories, separated by commas. If the content is safe, use 'Categories: None'.")
    if not user:
        lines += "\n - The third line must be one of: 'Refusal: Yes', 'Refusal: No'."
    tail = (f"\n\n<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST **{who}'s {what}** in "
            f"the above conversation:\n{lines}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nSafety:")
    segments.append((tail, True))
    return GuardPrompt(tuple(segments), judged, QWEN_SPECIALS)


@dataclass(frozen=True)
class QwenVerdict:
    safety: str  # Safe | Unsafe | Controversial
    categories: tuple[str, ...] = ()
    refusal: bool | None = None  # only for a response check


_LINE = re.compile(r"(Safety|Categories|Refusal)\s*[:：]\s*(.*)")
_SAFETY = {"safe": "Safe", "unsafe": "Unsafe", "controversial": "Controversial"}
_KNOWN = {c.lower(): c for c in QWEN_CATEGORIES + ("Jailbreak",)}


def parse_qwen3guard_output(text: str, *, response: bool = False) -> QwenVerdict:
    """'Safety: Unsafe\\nCategories: Violent, PII' -> QwenVerdict; anything else raises GuardFormatError.

    text may start after the prompt's own 'Safety:' (then it begins with the verdict word).
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if lines and not lines[0].lower().startswith("safety"):
        lines[0] = "Safety: " + lines[0]
    fields: dict[str, str] = {}
    for line in lines:
        m = _LINE.fullmatch(line)
        if not m or m.group(1) in fields:
            raise GuardFormatError(f"not a Qwen3Guard verdict: {text[:80]!r}")
        fields[m.group(1)] = m.group(2).strip()
    safety = _SAFETY.get(fields.get("Safety", "").lower())
    if safety is None or "Categories" not in fields:
        raise GuardFormatError(f"not a Qwen3Guard verdict (needs Safety and Categories lines): {text[:80]!r}")
    cats: tuple[str, ...] = ()
    if fields["Categories"].lower() != "none":
        names = [c.strip().rstrip(".") for c in fields["Categories"].split(",")]
        unknown = [c for c in names if c.lower() not in _KNOWN]
        if unknown:
            raise GuardFormatError(f"Qwen3Guard named unknown categories {unknown}")
        cats = tuple(_KNOWN[c.lower()] for c in names)
    refusal = None
    if response:
        answer = fields.get("Refusal", "").lower()
        if answer not in ("yes", "no"):
            raise GuardFormatError(f"a Qwen3Guard response verdict needs 'Refusal: Yes|No': {text[:80]!r}")
        refusal = answer == "yes"
    return QwenVerdict(safety, cats, refusal)
