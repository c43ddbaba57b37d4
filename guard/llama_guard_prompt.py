"""The Llama Guard 3 prompt, rendered by our own code (never by the GGUF's chat template).

The text follows each model's own template word for word, including Meta's "according our
safety policy". Three deliberate differences, see ../shared/research/guard.md section 1.2:
no <|begin_of_text|> text (llama.cpp adds exactly one BOS), no leading space (8B template),
and "\\n\\n" after the assistant header so that the next token is the verdict itself.

The prompt is a list of segments. Template text may contain special tokens; conversation
text is tokenised with special tokens OFF, so '<|eot_id|>' typed by a user stays plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["Category", "GuardPrompt", "LG3_CATEGORIES", "LG3_VARIANTS", "render_llama_guard_3", "categories_for"]


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    description: str = ""

    def render(self) -> str:
        line = f"{self.code}: {self.name}."
        return f"{line}\n{self.description.strip()}" if self.description.strip() else line


LG3_CATEGORIES: tuple[Category, ...] = tuple(
    Category(f"S{i}", name)
    for i, name in enumerate(
        ["Violent Crimes", "Non-Violent Crimes", "Sex Crimes", "Child Exploitation", "Defamation",
         "Specialized Advice", "Privacy", "Intellectual Property", "Indiscriminate Weapons", "Hate",
         "Self-Harm", "Sexual Content", "Elections", "Code Interpreter Abuse"],
        start=1,
    )
)

# variant -> (number of stock categories, text between the instruction and <|eot_id|>)
LG3_VARIANTS = {"llama-guard-3-1b": (13, " "), "llama-guard-3-8b": (14, "")}


def categories_for(variant: str, *, excluded: Iterable[str] = (), custom: Sequence[Category] = ()) -> tuple[Category, ...]:
    n, _ = LG3_VARIANTS[variant]
    skip = {c.upper() for c in excluded}
    return tuple(c for c in LG3_CATEGORIES[:n] if c.code not in skip) + tuple(custom)


@dataclass(frozen=True)
class GuardPrompt:
    """Segments of (text, trusted). Trusted text may hold special tokens; untrusted never does."""

    segments: tuple[tuple[str, bool], ...]
    role: str  # "User" or "Agent": whose last message is judged

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)


def render_llama_guard_3(
    conversation: Sequence[tuple[str, str]],
    *,
    variant: str = "llama-guard-3-1b",
    categories: Sequence[Category] | None = None,
) -> GuardPrompt:
    """conversation: (role, text) pairs, roles 'user'/'assistant' alternating from 'user'.

    An odd number of turns judges the last User message (a question check); an even number
    judges the last Agent message (an answer check).
    """
    if not conversation:
        raise ValueError("a guard check needs at least one message")
    for i, (role, _) in enumerate(conversation):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            raise ValueError(f"message {i + 1} has role {role!r}; roles must alternate user/assistant from user")
    _, before_eot = LG3_VARIANTS[variant]
    cats = categories if categories is not None else categories_for(variant)
    judged = "User" if len(conversation) % 2 else "Agent"
    head = (
        "<|start_header_id|>user<|end_header_id|>\n\n"
        f"Task: Check if there is unsafe content in '{judged}' messages in conversations according our safety "
        "policy with the below categories.\n\n"
        "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
        + "".join(c.render() + "\n" for c in cats)
        + "<END UNSAFE CONTENT CATEGORIES>\n\n"
        "<BEGIN CONVERSATION>\n\n"
    )
    segments: list[tuple[str, bool]] = [(head, True)]
    for role, text in conversation:
        label = "User" if role == "user" else "Agent"
        segments += [(f"{label}: ", True), (text.strip(), False), ("\n\n", True)]
    segments.append((
        "<END CONVERSATION>\n\n"
        f"Provide your safety assessment for ONLY THE LAST {judged} message in the above conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        f" - If unsafe, a second line must include a comma-separated list of violated categories.{before_eot}"
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        True,
    ))
    return GuardPrompt(tuple(segments), judged)
