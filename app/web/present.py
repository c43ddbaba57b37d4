"""Turn results into safe Markdown for the page and for export, in English or Chinese. Pure functions."""

from __future__ import annotations

import html
import re
import time
from typing import Sequence

from app.turn import Check, TurnResult
from app.turn.figures import parse_figures
from app.web.labels import t
from core.names import display_name

__all__ = ["safe_markdown", "format_turn", "format_figures", "format_checks", "format_drafting", "format_search",
           "explain_block", "conversation_markdown", "format_ingest", "format_plan", "format_status", "CHECK_ICONS"]

CHECK_ICONS = {"passed": "✅", "blocked": "⛔", "missing": "⚠️", "error": "⛔", "marked": "⚠️", "withheld": "✂️",
               "refused": "🔎", "weak": "⚠️"}
_MARK = "\ue000"  # a private-use character: where a "not in the sources" mark goes, placed before escaping
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
_REF_IMAGE = re.compile(r"!\[([^\]]*)\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]*)\]\((?!#)([^)]*)\)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]*)>", re.I)
_HTML = re.compile(r"<(/?)([a-zA-Z!][^>]*)>")
# A scheme or www. that the page's Markdown would turn into a live link: its ':' or '.' written as an entity shows
# the same, and copies the same, but is not linked.
_BARE_LINK = re.compile(r"\b(?:(https?|ftp|mailto|file|javascript|data|vbscript)(:)|(www)(\.))(?=\S)", re.I)


def safe_markdown(text: str) -> str:
    """Model and document text cannot load remote images, follow links or inject HTML."""
    text = _IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}]", text)
    text = _REF_IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}]", text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _AUTOLINK.sub(lambda m: m.group(1), text)
    text = _HTML.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}&gt;", text)
    return _BARE_LINK.sub(lambda m: f"{m.group(1)}&#58;" if m.group(1) else f"{m.group(3)}&#46;", text)


def _page(lang: str, page: int) -> str:
    return t(lang, "page_n", page=page)


def format_checks(checks: Sequence[Check], lang: str = "en") -> str:
    parts = []
    for c in checks:
        stage = t(lang, c.stage) if c.stage in ("question", "answer") else c.stage
        label = f"{stage} · {c.layer.replace('_', ' ')}"
        extra = f" {','.join(c.categories)}" if c.categories else ""
        score = f" p={c.score:.2f}" if c.score is not None and c.layer == "llama_guard" else ""
        parts.append(f"{CHECK_ICONS.get(c.status, '?')} {label}: {c.status}{extra}{score}")
    return " · ".join(parts)


def format_drafting(tokens: int, released: str = "", lang: str = "en") -> str:
    note = t(lang, "writing", tokens=tokens)
    return f"{safe_markdown(released)}\n\n{note}" if released else note


def _snippet(text: str, limit: int = 600) -> str:
    flat = " ".join(text.split())
    return safe_markdown(flat[:limit] + ("…" if len(flat) > limit else ""))


def _citation_blocks(result: TurnResult, lang: str) -> str:
    """Numbered sources; each opens to its passage (HTML details: our markup, around escaped text)."""
    lines = []
    for c in result.citations:
        title = html.escape(f"[{c.n}] {c.file}, {_page(lang, c.page)}")
        lines.append(f"<details><summary>{title}</summary>\n\n{_snippet(c.text)}\n\n</details>")
    return "\n".join(lines)


def _marked_answer(result: TurnResult, lang: str) -> str:
    """The answer as safe Markdown, each figure the sources do not hold followed by a visible mark."""
    answer = result.answer.replace(_MARK, "")
    figures = parse_figures(answer)
    if [f.text for f in figures] == [link.text for link in result.figures]:  # mark mode: the answer as checked
        for f, link in sorted(zip(figures, result.figures), key=lambda p: -p[0].start):
            if not link.grounded:
                answer = answer[:f.end] + _MARK + answer[f.end:]
    return safe_markdown(answer).replace(_MARK, f"<sup>⚠ {t(lang, 'not_in_sources')}</sup>")


def format_figures(result: TurnResult, lang: str = "en") -> str:
    """The grounded figures with their source and page, in one line; then, when some figure is not in the
    sources, the source lines that hold the figures the question asks about."""
    found = [f for f in result.figures if f.grounded]
    out = []
    if found:
        out.append(f"<sub>{t(lang, 'figures_found')}: " + " · ".join(
            html.escape(f"{f.text} [{f.n}, {_page(lang, f.page)}]") for f in found) + "</sub>")
    if result.evidence:
        out.append(f"**{t(lang, 'evidence')}:**\n\n" + "\n>\n".join(
            f"> {safe_markdown(e.text)} — [{e.n}] {html.escape(e.file)}, {_page(lang, e.page)}"
            for e in result.evidence))
    return "\n\n".join(out)


def explain_block(result: TurnResult, lang: str = "en") -> str:
    """Which layer blocked, on what, with categories and score, and what the user can do."""
    check = next((c for c in reversed(result.checks) if not c.allowed), None)
    lines = [f"**⛔ {safe_markdown(result.message)}**"]
    if check is not None:
        lines.append(f"- {t(lang, 'why')}: {check.stage} · {check.layer.replace('_', ' ')} → {check.status}")
        if check.categories:
            lines.append(f"- {t(lang, 'categories')}: {', '.join(check.categories)}")
        if check.score is not None:
            lines.append(f"- {t(lang, 'score')}: {check.score:.2f}")
    lines.append(f"\n_{t(lang, 'blocked_help')}_")
    return "\n".join(lines)


def format_turn(result: TurnResult, lang: str = "en") -> str:
    """The assistant's message: answer (or why it was blocked), numbered sources, and the checks."""
    if result.blocked:
        body = explain_block(result, lang)
    else:
        body = _marked_answer(result, lang) or t(lang, "empty")
        if figures := format_figures(result, lang):
            body += f"\n\n{figures}"
        if result.citations:
            cited = all(c.cited for c in result.citations)
            label = "closest" if result.not_found else "sources" if cited else "consulted"
            body += f"\n\n**{t(lang, label)}:**\n\n" + _citation_blocks(result, lang)
        if result.message:
            body += f"\n\n_{safe_markdown(result.message)}_"
        if result.stopped:
            body += f"\n\n{t(lang, 'stopped')}"
    return f"{body}\n\n<sub>{format_checks(result.checks, lang)}</sub>" if result.checks else body


def format_search(result: TurnResult, lang: str = "en") -> str:
    """Search-only mode: the passages that match, with file, page and score, no model involved."""
    if result.blocked:
        return format_turn(result, lang)
    if not result.citations:
        body = t(lang, "no_passages")
    else:
        body = f"**{t(lang, 'passages')}:**\n\n" + "\n".join(
            f"<details><summary>{html.escape(f'[{c.n}] {c.file}, {_page(lang, c.page)}')}"
            f" · {h.score:.2f}</summary>\n\n{_snippet(c.text)}\n\n</details>"
            for c, h in zip(result.citations, result.sources))
    return f"{body}\n\n<sub>{format_checks(result.checks, lang)}</sub>"


def format_ingest(results: Sequence, lang: str = "en") -> str:
    lines = []
    for r in results:
        name = display_name(r.file)
        if r.status == "failed":
            lines.append(f"- ❌ **{name}**: {safe_markdown(r.error or '')}")
        else:
            read_as = f" ({r.encoding.upper()})" if r.encoding not in ("", "utf-8") else ""
            lines.append(f"- ✅ **{name}**: {t(lang, r.status)}, {r.pages} {t(lang, 'pages')}, "
                         f"{r.chunks} {t(lang, 'chunks')}{read_as}")
    return "\n".join(lines)


def format_plan(offload: dict, model: str) -> str:
    return f"**{model}** · GPU: {offload['reason']}"


def format_status(warm: dict, *, model: str = "", offload: str = "", guard_mode: str = "", lang: str = "en") -> str:
    """The loading line at the top of the page: how far the warm-up got, then which model is ready."""
    if warm["error"]:
        return t(lang, "load_failed", error=warm["error"])
    if not warm["done"]:
        return t(lang, "loading", name=warm["name"] or t(lang, "models"), step=warm["step"], total=warm["total"])
    return t(lang, "ready", model=model, offload=offload) + (f" · ⚠️ {guard_mode}" if guard_mode else "")


def conversation_markdown(turns: Sequence[TurnResult], *, title: str = "Hearth conversation") -> str:
    """A conversation with its citations, for export: question, answer, sources with passages, checks."""
    out = [f"# {title}", "", f"_Exported {time.strftime('%Y-%m-%d %H:%M')}_", ""]
    for i, turn in enumerate(turns, 1):
        out += [f"## {i}. {turn.question}", ""]
        if turn.blocked:
            out += [f"> Blocked ({turn.blocked_by}): {turn.message}", ""]
        else:
            out += [turn.answer or "_(no answer)_", ""]
            if missing := [f.text for f in turn.figures if not f.grounded]:
                out += [f"_⚠ Not in the sources: {'; '.join(missing)}_", ""]
                out += [f"> {e.text} ({e.file}, page {e.page})" for e in turn.evidence] + [""] * bool(turn.evidence)
            if turn.citations:
                out += ["**Sources**", ""]
                out += [f"{c.n}. {c.file}, page {c.page}: \"{' '.join(c.text.split())[:400]}\"" for c in turn.citations]
                out.append("")
            if turn.message:
                out += [f"_{turn.message}_", ""]
        out += [f"<sub>checks: {format_checks(turn.checks)}</sub>", ""]
    return "\n".join(out)
