"""`hearth ingest`, `search`, `ask`, `docs` and `forget`: documents and questions from the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.cli.common import emit, get_hearth, json_option
from core.errors import NotFoundError

__all__ = ["COMMANDS"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@click.pass_context
def ingest(ctx: click.Context, paths):
    """Index files and folders (PDF, Word, HTML, TXT, Markdown). Exit status 1 if any file failed."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(file: str, done: int, total: int) -> None:
        bar = bars.get(file)
        if bar is None:
            bar = bars[file] = tqdm(total=total, desc=file[:40], unit="chunk", leave=False, file=sys.stderr,
                                    disable=None)
        bar.update(done - bar.n)

    results = []
    for r in get_hearth(ctx).documents.ingest(paths, progress=progress):
        if file_bar := bars.pop(Path(r.file).name, None):
            file_bar.close()
        results.append(r.to_dict())
        if not ctx.obj["json"]:
            if r.status == "failed":
                click.echo(f"failed    {r.error}")
            else:
                read_as = f", read as {r.encoding}" if r.encoding not in ("", "utf-8") else ""
                click.echo(f"{r.status:9} {r.file}: {r.pages} pages, {r.chunks} chunks, id {r.doc_id}{read_as}")
    if ctx.obj["json"]:
        click.echo(json.dumps(results, ensure_ascii=False))
    if any(r["status"] == "failed" for r in results):
        ctx.exit(1)


@click.command()
@click.argument("query")
@click.option("-k", type=int, default=5, show_default=True, help="How many passages.")
@json_option
@click.pass_context
def search(ctx: click.Context, query, k):
    """Show the passages that match a query, without the chat model."""
    hits = get_hearth(ctx).documents.search(query, k=k)
    human = "\n\n".join(f"[{i}] {h.file} p.{h.page} score {h.score:.3f}\n    {h.text[:300]}"
                        for i, h in enumerate(hits, 1)) or "No matching passages."
    emit(ctx, [h.to_dict() for h in hits], human)


@click.command()
@click.argument("question")
@json_option
@click.pass_context
def ask(ctx: click.Context, question):
    """Ask a question about your documents; the answer comes with citations and check results."""
    from app.turn import Finished, Released  # the turn's machinery loads only when a question is asked

    shown, result = 0, None
    for event in get_hearth(ctx).pipeline().run(question):
        if isinstance(event, Released) and not ctx.obj["json"]:
            click.echo(event.text[shown:], nl=False)
            shown = len(event.text)
        elif isinstance(event, Finished):
            result = event.result
    data = result.to_dict()
    data["citations"] = [{"file": c.file, "page": c.page, "n": c.n, "cited": c.cited} for c in result.citations]
    if ctx.obj["json"]:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    if result.blocked:
        click.echo(("\n[withdrawn] " if shown else "") + result.message)
    else:
        click.echo()
        for c in result.citations:
            click.echo(f"  [{c.n}] {c.file}, page {c.page}" + ("" if c.cited else "  (consulted)"))
        for e in result.evidence:  # the source lines holding the asked-for figures, when some are not in the sources
            click.echo(f'  > "{e.text}" [{e.n}] {e.file}, page {e.page}')
    marks = ", ".join(f"{c.stage}/{c.layer}: {c.status}" for c in result.checks)
    click.echo(f"checks: {marks}", err=True)
    ungrounded = [f.text for f in result.figures if not f.grounded]
    if ungrounded:
        click.echo(f"not in the sources: {'; '.join(ungrounded)}", err=True)
    if result.message and not result.blocked:
        click.echo(result.message, err=True)


@click.command()
@json_option
@click.pass_context
def docs(ctx: click.Context):
    """List the indexed documents."""
    records = get_hearth(ctx).documents.list()
    human = "\n".join(f"{d.doc_id}  {d.file}  ({d.pages} pages, {d.chunks} chunks)" for d in records) \
        or "No documents yet. Add some with `hearth ingest PATH`."
    emit(ctx, [d.to_dict() for d in records], human)


@click.command()
@click.argument("key")
@json_option
@click.pass_context
def forget(ctx: click.Context, key):
    """Remove a document (by id, id prefix or file name) from the index."""
    removed = get_hearth(ctx).documents.forget(key)
    if not removed:
        if ctx.obj["json"]:
            click.echo(json.dumps([]))
        raise NotFoundError(f"no document matches {key!r}; see `hearth docs`.")
    emit(ctx, [d.to_dict() for d in removed], "\n".join(f"removed {d.doc_id} {d.file}" for d in removed))


COMMANDS = [ingest, search, ask, docs, forget]
