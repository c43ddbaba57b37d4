"""`hearth guard`, `hearth blocked` and `hearth words`: the guard from the terminal, without the chat model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.cli.common import emit, get_hearth, json_option

__all__ = ["COMMANDS", "guard_report"]


def guard_report(checks, text: str, answer: str | None = None) -> dict:
    """What `hearth guard` prints: each layer's check on the text and the decision."""
    allowed = all(c.allowed for c in checks)
    return {"text": text, **({"answer": answer} if answer is not None else {}),
            "stage": "answer" if answer is not None else "question",
            **{c.layer: {**c.to_dict(), "allowed": c.allowed} for c in checks},
            "allowed": allowed, "decision": "allowed" if allowed else "blocked"}


@click.command()
@click.argument("text", required=False)
@click.option("--answer", help="Judge this answer to TEXT instead of TEXT itself.")
@click.option("--file", "prompts_file", type=click.Path(exists=True, path_type=Path),
              help="One prompt per line; one JSON line out per prompt.")
@json_option
@click.pass_context
def guard(ctx: click.Context, text, answer, prompts_file):
    """Run both guard layers on a text, as a turn does (blocked ones are audited), without the chat model."""
    pipeline = get_hearth(ctx).pipeline(retrieve=False)
    if prompts_file:
        for line in prompts_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                click.echo(json.dumps(guard_report(pipeline.check(line), line), ensure_ascii=False))
        return
    if not text:
        raise click.UsageError("give a TEXT to check, or --file PROMPTS.txt")
    r = guard_report(pipeline.check(text, answer=answer), text, answer)
    lines = [f"{r['decision'].upper()}"]
    for layer in ("keyword", "llama_guard"):
        v = r[layer]
        lines.append(f"  {layer:12} {v['status']:8} {v['reason']}")
    emit(ctx, r, "\n".join(lines))
    if not r["allowed"]:
        ctx.exit(1)


@click.command()
@click.option("-n", "limit", type=int, default=20, show_default=True, help="How many entries, newest first.")
@json_option
@click.pass_context
def blocked(ctx: click.Context, limit):
    """Why recent turns were blocked (the audit log; the text only if audit_text is on)."""
    entries = get_hearth(ctx).audit_log.entries(limit)
    human = "\n".join(f"{e.get('time', '')}  {e.get('stage', '')}/{e.get('layer', '')}  {e.get('status', '')}  "
                      f"{','.join(e.get('categories') or [])}  {e.get('reason', '')}" for e in entries) \
        or "No blocked turns recorded."
    emit(ctx, entries, human)


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def words(ctx: click.Context):
    """Your keyword lists: list (the default), add or remove terms."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(words_list)


def _words_out(ctx: click.Context, lists: dict) -> None:
    human = "\n".join(f"{cat}: {', '.join(terms) or '(empty)'}" for cat, terms in lists.items()) \
        or "No lists of your own yet. Add a term with `hearth words add CATEGORY TERM`."
    emit(ctx, lists, human)


@words.command("list")
@json_option
@click.pass_context
def words_list(ctx: click.Context):
    """Your lists and their terms (the built-in lists are not shown)."""
    _words_out(ctx, get_hearth(ctx).words.lists())


@words.command("add")
@click.argument("category")
@click.argument("term")
@json_option
@click.pass_context
def words_add(ctx: click.Context, category, term):
    """Add TERM to the list CATEGORY (created if new); checked from the next turn on."""
    _words_out(ctx, {category.strip().lower(): get_hearth(ctx).words.add(category, term)})


@words.command("remove")
@click.argument("category")
@click.argument("term")
@json_option
@click.pass_context
def words_remove(ctx: click.Context, category, term):
    """Remove TERM from the list CATEGORY."""
    _words_out(ctx, {category.strip().lower(): get_hearth(ctx).words.remove(category, term)})


COMMANDS = [guard, blocked, words]
