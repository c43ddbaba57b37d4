"""`hearth eval retrieval|guard|answers` and `hearth compare`: added to `hearth` through the "hearth.commands" entry
points (pyproject.toml), so that app/ never imports evaluation/."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import emit, get_hearth, json_option
from core.errors import InputError

__all__ = ["eval_group", "compare"]

_OUT = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                    help="Report folder [default: ./hearth-eval-<kind>-<timestamp>].")
_LIMIT = click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions or prompts.")
_QUESTIONS = click.option("--questions", "questions_file", required=True, type=click.Path(path_type=Path),
                          help="Questions, one JSON object a line (question, doc/docs, page/pages, answer, expect).")
_FRESH = click.option("--fresh", is_flag=True,
                       help="Index --docs again from scratch instead of reusing its collection.")
_DOCS = click.option("--docs", "docs_dir", required=True, type=click.Path(path_type=Path),
                     help="Folder of the documents the questions are about; indexed once, then reused.")


def _progress():
    """progress(label, done, total) drawing one tqdm bar per label on stderr (nothing when not a terminal)."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, desc=label[:40], leave=False, file=sys.stderr, disable=None)
        bar.update(done - bar.n)
        if done >= total:
            bars.pop(label).close()

    return progress


def _finish(ctx: click.Context, run, kind: str, out_dir: Path | None, summary) -> None:
    from evaluation.report import default_out_dir

    out_dir = out_dir or default_out_dir(kind)
    try:
        report = run(get_hearth(ctx), out_dir, _progress())
    except InputError as e:  # a bad file, or no matplotlib: the message says what to do
        raise click.ClickException(str(e)) from e
    emit(ctx, report, summary(report) + f"\n\nReport: {out_dir / 'report.md'}"
         + (f" and {out_dir / 'report.html'}" if kind == "compare" else "")
         + f"; charts: {', '.join(report.get('charts', []))}")


def _section(markdown: str, title: str) -> str:
    """One '## title' section of a report, for the terminal."""
    part = markdown.split(f"## {title}\n", 1)[-1].split("\n## ", 1)[0]
    return "\n".join(line for line in part.splitlines() if not line.startswith("![")).strip()


@click.group("eval")
@json_option
def eval_group():
    """Measure Hearth on your own documents and prompts; each writes a report folder."""


@eval_group.command("retrieval")
@_QUESTIONS
@_DOCS
@click.option("-k", "ks", default="1,3,5,10", show_default=True, help="Comma-separated k values for hit@k.")
@_FRESH
@_LIMIT
@_OUT
@json_option
@click.pass_context
def eval_retrieval(ctx, questions_file, docs_dir, ks, fresh, limit, out_dir):
    """Document and page hit@k, recall, precision and MRR of search, per question, with latency."""
    from evaluation.report import retrieval_markdown
    from evaluation.runs import run_retrieval

    try:
        k_values = sorted({int(k) for k in ks.split(",") if k.strip()})
    except ValueError:
        raise click.BadParameter(f"{ks!r}: give whole numbers separated by commas, like 1,5,10", param_hint="-k")
    if not k_values or min(k_values) < 1:
        raise click.BadParameter("k values must be 1 or more", param_hint="-k")
    _finish(ctx, lambda h, out, p: run_retrieval(h, questions_file, docs_dir, out, ks=k_values, limit=limit,
                                                 fresh=fresh, progress=p),
            "retrieval", out_dir, lambda r: _section(retrieval_markdown(r), "Summary"))


@eval_group.command("guard")
@click.option("--prompts", "prompts_file", required=True, type=click.Path(path_type=Path),
              help="Prompts as CSV or JSONL, with a text field and label fields.")
@click.option("--label", "labels", multiple=True,
              help="Label field(s) (1/0, true/false, unsafe/safe); repeat or separate with commas. "
                   "Default: the OpenAI moderation categories or a 'label' field, as the file has them.")
@click.option("--text-field", help="Field holding the text [default: prompt, text, question or content].")
@click.option("--assume", type=click.Choice(["safe", "unsafe"]), help="Label of prompts that have none.")
@_LIMIT
@_OUT
@json_option
@click.pass_context
def eval_guard(ctx, prompts_file, labels, text_field, assume, limit, out_dir):
    """Block rate on unsafe prompts, false positives on safe ones: keyword layer, Llama Guard, both."""
    from evaluation.report import guard_markdown
    from evaluation.runs import run_guard

    fields = [f.strip() for label in labels for f in label.split(",") if f.strip()]
    _finish(ctx, lambda h, out, p: run_guard(h, prompts_file, out, labels=fields, text_field=text_field,
                                             assume=assume, limit=limit, progress=p),
            "guard", out_dir, lambda r: _section(guard_markdown(r), "Layers"))


@eval_group.command("answers")
@_QUESTIONS
@_DOCS
@click.option("--judge-model", type=click.Path(path_type=Path),
              help="A chat GGUF that scores faithfulness and relevance 1-5 (optional).")
@_FRESH
@_LIMIT
@_OUT
@json_option
@click.pass_context
def eval_answers(ctx, questions_file, docs_dir, judge_model, fresh, limit, out_dir):
    """Full guarded turns: cites the evidence? contains the gold figure? says "not in the documents" for N/A?"""
    from evaluation.report import answers_markdown
    from evaluation.runs import run_answers

    _finish(ctx, lambda h, out, p: run_answers(h, questions_file, docs_dir, out, judge_model=judge_model,
                                               limit=limit, fresh=fresh, progress=p),
            "answers", out_dir, lambda r: _section(answers_markdown(r), "Summary"))


@click.command()
@click.option("--models", "-m", "models", multiple=True, type=click.Path(path_type=Path),
              help="Chat model GGUF files: --models A.gguf B.gguf (or -m A.gguf -m B.gguf).")
@click.argument("more_models", nargs=-1, type=click.Path(path_type=Path))
@click.option("--questions", "questions_file", type=click.Path(path_type=Path),
              help="Questions JSONL [default: the ten Chinese questions of the ChatGLM3-6B vs Qwen-7B comparison].")
@click.option("--docs", "docs_dir", type=click.Path(path_type=Path),
              help="Answer through the guarded RAG pipeline over this folder instead of plain chat.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Longest answer [HEARTH_MAX_TOKENS].")
@click.option("--temperature", type=click.FloatRange(0, 2), help="Sampling temperature [HEARTH_TEMPERATURE].")
@_LIMIT
@_OUT
@json_option
@click.pass_context
def compare(ctx, models, more_models, questions_file, docs_dir, max_tokens, temperature, limit, out_dir):
    """The same questions to several models, one at a time: answers, latency, tokens/s, guard verdicts."""
    from evaluation.report import compare_markdown
    from evaluation.runs import run_compare

    paths = list(models) + list(more_models)
    if not paths:
        raise click.UsageError("give the models to compare: hearth compare --models A.gguf B.gguf")
    changes = {k: v for k, v in {"max_tokens": max_tokens, "temperature": temperature}.items() if v is not None}
    ctx.obj["settings"] = ctx.obj["settings"].model_copy(update=changes)
    _finish(ctx, lambda h, out, p: run_compare(h, paths, out, questions_file=questions_file, docs_dir=docs_dir,
                                               limit=limit, progress=p),
            "compare", out_dir, lambda r: _section(compare_markdown(r), "Summary"))
