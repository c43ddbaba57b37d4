"""Turn results into safe Markdown for the page. Pure functions."""

from __future__ import annotations

import re
from typing import Sequence

from app.pipeline import Check, TurnResult

__all__ = ["safe_markdown", "format_turn", "format_checks", "format_drafting", "CHECK_ICONS"]

CHECK_ICONS = {"passed": "✅", "blocked": "⛔", "missing": "⚠️", "error": "⛔"}
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?!#)([^)]*)\)")
_HTML = re.compile(r"<(/?)([a-zA-Z][^>]*)>")


def safe_markdown(text: str) -> str:
    """Model and document text cannot load remote images, follow links or inject HTML."""
    text = _IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}]", text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    return _HTML.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}&gt;", text)


def format_checks(checks: Sequence[Check]) -> str:
    parts = []
    for c in checks:
        label = f"{c.stage} · {c.layer.replace('_', ' ')}"
        extra = f" {','.join(c.categories)}" if c.categories else ""
        score = f" p={c.score:.2f}" if c.score is not None and c.layer == "llama_guard" else ""
        parts.append(f"{CHECK_ICONS.get(c.status, '?')} {label}: {c.status}{extra}{score}")
    return " · ".join(parts)


def format_drafting(tokens: int, released: str = "") -> str:
    note = f"_writing… {tokens} tokens, each piece is checked before it is shown_"
    return f"{safe_markdown(released)}\n\n{note}" if released else note


def format_turn(result: TurnResult) -> str:
    """The assistant's message: answer (or why it was blocked), sources, and the checks."""
    if result.blocked:
        body = f"**{result.message}**"
    else:
        body = safe_markdown(result.answer) or "_(empty answer)_"
        if result.citations:
            cited = all(c.cited for c in result.citations)
            title = "Sources" if cited else "Sources consulted (the answer cites none by number)"
            lines = [f"{title}:"]
            for c in result.citations:
                snippet = safe_markdown(" ".join(c.text.split())[:240])
                lines.append(f"- **[{c.n}] {c.file}, page {c.page}** — {snippet}…")
            body += "\n\n" + "\n".join(lines)
        if result.message:
            body += f"\n\n_{result.message}_"
        if result.stopped:
            body += "\n\n_(stopped)_"
    return f"{body}\n\n<sub>{format_checks(result.checks)}</sub>" if result.checks else body
