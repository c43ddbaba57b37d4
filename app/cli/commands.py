"""The `hearth` command. Every command takes --json for scripts; the web page is `hearth serve`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from app import __version__
from app.settings import SettingsError, load_settings

__all__ = ["main", "cli"]


def _emit(ctx: click.Context, data, human: str) -> None:
    if ctx.obj["json"]:
        click.echo(json.dumps(data, ensure_ascii=False, indent=None))
    else:
        click.echo(human)


def _hearth(ctx: click.Context):
    if "hearth" not in ctx.obj:
        from app.hearth import Hearth

        ctx.obj["hearth"] = Hearth(ctx.obj["settings"])
        ctx.call_on_close(ctx.obj["hearth"].close)
    return ctx.obj["hearth"]


def json_option(f):
    def callback(ctx, _param, value):
        if value:
            ctx.find_root().obj["json"] = True
    return click.option("--json", "as_json", is_flag=True, expose_value=False, callback=callback,
                        help="Print JSON for scripts.")(f)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Index, catalog and models folder [HEARTH_DATA_DIR].")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML config file [HEARTH_CONFIG].")
@click.option("--model", type=click.Path(path_type=Path), help="Chat model GGUF [HEARTH_MODEL].")
@click.option("--guard-model", type=click.Path(path_type=Path), help="Llama Guard GGUF [HEARTH_GUARD_MODEL].")
@click.option("--embedding-model", type=click.Path(path_type=Path),
              help="sentence-transformers folder [HEARTH_EMBEDDING_MODEL].")
@click.option("--collection", help="Document collection [HEARTH_COLLECTION].")
@click.option("--require-llama-guard/--allow-missing-llama-guard", default=None,
              help="Block every turn while no Llama Guard model is installed [HEARTH_REQUIRE_LLAMA_GUARD].")
@click.option("--threads", "n_threads", type=int, help="CPU threads [HEARTH_N_THREADS].")
@click.option("-v", "--verbose", is_flag=True, help="Log what Hearth does to stderr.")
@json_option
@click.version_option(__version__, prog_name="hearth")
@click.pass_context
def cli(ctx: click.Context, config_file, verbose, **overrides):
    """Hearth: private, guarded chat with your documents. With no command, starts the web page."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj.setdefault("json", False)
    try:
        ctx.obj["settings"] = load_settings(overrides, config_file=config_file)
    except SettingsError as e:
        raise click.UsageError(str(e)) from e
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@cli.command()
@click.option("--host", help="Address to bind [HEARTH_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port [HEARTH_PORT, default 7860].")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.pass_context
def serve(ctx: click.Context, host=None, port=None, no_browser=False):
    """Start the web page."""
    from app.server import serve as run_server

    settings = ctx.obj["settings"]
    changes = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if no_browser:
        changes["open_browser"] = False
    ctx.obj["settings"] = settings.model_copy(update=changes)
    run_server(_hearth(ctx), window=ctx.obj.get("window"))  # the desktop bundle may give a native window


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@click.pass_context
def ingest(ctx: click.Context, paths):
    """Index files and folders (PDF, TXT, Markdown). Exit status 1 if any file failed."""
    from tqdm import tqdm

    hearth = _hearth(ctx)
    bars: dict[str, tqdm] = {}

    def progress(file: str, done: int, total: int) -> None:
        bar = bars.get(file)
        if bar is None:
            bar = bars[file] = tqdm(total=total, desc=file[:40], unit="chunk", leave=False, file=sys.stderr,
                                    disable=None)
        bar.update(done - bar.n)

    results = []
    for r in hearth.ingest(paths, progress=progress):
        if file_bar := bars.pop(Path(r.file).name, None):
            file_bar.close()
        results.append(r.to_dict())
        if not ctx.obj["json"]:
            if r.status == "failed":
                click.echo(f"failed    {r.error}")
            else:
                click.echo(f"{r.status:9} {r.file}: {r.pages} pages, {r.chunks} chunks, id {r.doc_id}")
    if ctx.obj["json"]:
        click.echo(json.dumps(results, ensure_ascii=False))
    if any(r["status"] == "failed" for r in results):
        ctx.exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", type=int, default=5, show_default=True, help="How many passages.")
@json_option
@click.pass_context
def search(ctx: click.Context, query, k):
    """Show the passages that match a query, without the chat model."""
    hits = _hearth(ctx).search(query, k=k)
    human = "\n\n".join(f"[{i}] {h.file} p.{h.page} score {h.score:.3f}\n    {h.text[:300]}"
                        for i, h in enumerate(hits, 1)) or "No matching passages."
    _emit(ctx, [h.to_dict() for h in hits], human)


@cli.command()
@click.argument("question")
@json_option
@click.pass_context
def ask(ctx: click.Context, question):
    """Ask a question about your documents; the answer comes with citations and check results."""
    from app.pipeline import Finished, Released

    pipeline = _hearth(ctx).pipeline()
    shown = 0
    result = None
    try:
        for event in pipeline.run(question):
            if isinstance(event, Released) and not ctx.obj["json"]:
                click.echo(event.text[shown:], nl=False)
                shown = len(event.text)
            elif isinstance(event, Finished):
                result = event.result
    except ValueError as e:
        raise click.UsageError(str(e)) from e
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
    marks = ", ".join(f"{c.stage}/{c.layer}: {c.status}" for c in result.checks)
    click.echo(f"checks: {marks}", err=True)
    if result.message and not result.blocked:
        click.echo(result.message, err=True)


@cli.command()
@click.argument("text", required=False)
@click.option("--answer", help="Judge this answer to TEXT instead of TEXT itself.")
@click.option("--file", "prompts_file", type=click.Path(exists=True, path_type=Path),
              help="One prompt per line; one JSON line out per prompt.")
@json_option
@click.pass_context
def guard(ctx: click.Context, text, answer, prompts_file):
    """Run both guard layers on a text, without the chat model."""
    hearth = _hearth(ctx)
    if prompts_file:
        for line in prompts_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                click.echo(json.dumps(hearth.guard_check(line), ensure_ascii=False))
        return
    if not text:
        raise click.UsageError("give a TEXT to check, or --file PROMPTS.txt")
    r = hearth.guard_check(text, answer)
    lines = [f"{r['decision'].upper()}"]
    for layer in ("keyword", "llama_guard"):
        v = r[layer]
        lines.append(f"  {layer:12} {v['status']:8} {v['reason']}")
    _emit(ctx, r, "\n".join(lines))
    if not r["allowed"]:
        ctx.exit(1)


@cli.command()
@click.option("-n", "limit", type=int, default=20, show_default=True, help="How many entries, newest first.")
@json_option
@click.pass_context
def blocked(ctx: click.Context, limit):
    """Why recent turns were blocked (the audit log; the text only if audit_text is on)."""
    entries = _hearth(ctx).blocked_turns(limit)
    human = "\n".join(f"{e.get('time', '')}  {e.get('stage', '')}/{e.get('layer', '')}  {e.get('status', '')}  "
                      f"{','.join(e.get('categories') or [])}  {e.get('reason', '')}" for e in entries) \
        or "No blocked turns recorded."
    _emit(ctx, entries, human)


@cli.command()
@json_option
@click.pass_context
def docs(ctx: click.Context):
    """List the indexed documents."""
    records = _hearth(ctx).documents()
    human = "\n".join(f"{d.doc_id}  {d.file}  ({d.pages} pages, {d.chunks} chunks)" for d in records) \
        or "No documents yet. Add some with `hearth ingest PATH`."
    _emit(ctx, [d.to_dict() for d in records], human)


@cli.command()
@click.argument("key")
@json_option
@click.pass_context
def forget(ctx: click.Context, key):
    """Remove a document (by id, id prefix or file name) from the index."""
    removed = _hearth(ctx).forget(key)
    if not removed:
        if ctx.obj["json"]:
            click.echo(json.dumps([]))
        raise click.ClickException(f"no document matches {key!r}; see `hearth docs`.")
    _emit(ctx, [d.to_dict() for d in removed], "\n".join(f"removed {d.doc_id} {d.file}" for d in removed))


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def models(ctx: click.Context):
    """List known models (the default), or pull one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(models_list)


@models.command("list")
@json_option
@click.pass_context
def models_list(ctx: click.Context):
    """Known models and whether they are installed."""
    from app import models as registry

    data_dir = ctx.obj["settings"].data_dir
    rows = []
    for spec in registry.REGISTRY.values():
        path = registry.installed_path(spec, data_dir)
        rows.append({**spec.to_dict(), "installed": path is not None, "path": str(path) if path else None})
    human = "\n".join(f"{r['name']:24} {r['kind']:9} {'installed' if r['installed'] else 'not installed':14} "
                      f"{r['size']:>10}  {r['description']}" for r in rows)
    _emit(ctx, rows, human)


@models.command("pull")
@click.argument("name")
@json_option
@click.pass_context
def models_pull(ctx: click.Context, name):
    """Download a model (needs internet; resumes an interrupted download), e.g. qwen2.5-3b-instruct."""
    from app import models as registry

    try:
        path = registry.pull(name, ctx.obj["settings"].data_dir)
    except registry.PullError as e:
        raise click.ClickException(str(e)) from e
    _emit(ctx, {"name": name, "path": str(path)}, f"{name} installed at {path}")


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def keys(ctx: click.Context):
    """API keys for /v1 (stored hashed): list them (the default), create or revoke one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(keys_list)


@keys.command("create")
@click.argument("name")
@click.option("--model", "models", multiple=True, default=("*",), show_default=True,
              help="Model the key may use (repeat; patterns like 'hearth-rag:*').")
@click.option("--endpoint", "endpoints", multiple=True, help="Endpoint the key may use (repeat): chat, embeddings, "
              "models, documents; all when left out.")
@click.option("--rpm", type=int, default=60, show_default=True, help="Requests per minute; 0 is unlimited.")
@click.option("--tpm", type=int, default=20000, show_default=True, help="Tokens per minute; 0 is unlimited.")
@json_option
@click.pass_context
def keys_create(ctx: click.Context, name, models, endpoints, rpm, tpm):
    """Create a key; its secret is printed once and stored only as a hash."""
    from app.keys import ENDPOINTS, KeyError_

    try:
        key, secret = _hearth(ctx).api_keys.create(name, models=tuple(models), endpoints=tuple(endpoints or ENDPOINTS),
                                                   rpm=rpm, tpm=tpm)
    except KeyError_ as e:
        raise click.ClickException(str(e)) from e
    _emit(ctx, {**key.to_dict(), "key": secret},
          f"{secret}\n(key {key.name}, id {key.id}: shown once, store it now; revoke with `hearth keys revoke {key.name}`)")


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@json_option
@click.pass_context
def keys_list(ctx: click.Context, include_revoked=False):
    """The keys, without their secrets."""
    rows = [k.to_dict() for k in _hearth(ctx).api_keys.list(include_revoked=include_revoked)]
    human = "\n".join(f"{r['id']}  {r['name']:20} {r['hint']}…  models {','.join(r['models'])}  endpoints "
                      f"{','.join(r['endpoints'])}  {r['rpm']} req/min  {r['tpm']} tok/min"
                      + ("  REVOKED" if r["revoked"] else "") for r in rows) or "No API keys. Create one with `hearth keys create NAME`."
    _emit(ctx, rows, human)


@keys.command("revoke")
@click.argument("key")
@json_option
@click.pass_context
def keys_revoke(ctx: click.Context, key):
    """Revoke a key (by name or id); requests with it get 401 at once."""
    from app.keys import KeyError_

    try:
        revoked = _hearth(ctx).api_keys.revoke(key)
    except KeyError_ as e:
        raise click.ClickException(str(e)) from e
    _emit(ctx, revoked.to_dict(), f"revoked {revoked.name} ({revoked.id})")


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def words(ctx: click.Context):
    """Your keyword lists: list (the default), add or remove terms."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(words_list)


def _words_out(ctx: click.Context, lists: dict) -> None:
    human = "\n".join(f"{cat}: {', '.join(terms) or '(empty)'}" for cat, terms in lists.items()) \
        or "No lists of your own yet. Add a term with `hearth words add CATEGORY TERM`."
    _emit(ctx, lists, human)


@words.command("list")
@json_option
@click.pass_context
def words_list(ctx: click.Context):
    """Your lists and their terms (the built-in lists are not shown)."""
    _words_out(ctx, _hearth(ctx).words())


def _edit_words(ctx: click.Context, edit: str, category: str, term: str, error: type[click.ClickException]) -> None:
    """Run Hearth.add_word or remove_word and show the list; a WordListError becomes `error`."""
    from app.hearth import WordListError

    try:
        terms = getattr(_hearth(ctx), edit)(category, term)
    except WordListError as e:
        raise error(str(e)) from e
    _words_out(ctx, {category.strip().lower(): terms})


@words.command("add")
@click.argument("category")
@click.argument("term")
@json_option
@click.pass_context
def words_add(ctx: click.Context, category, term):
    """Add TERM to the list CATEGORY (created if new); checked from the next turn on."""
    _edit_words(ctx, "add_word", category, term, click.UsageError)  # a bad term is a usage error


@words.command("remove")
@click.argument("category")
@click.argument("term")
@json_option
@click.pass_context
def words_remove(ctx: click.Context, category, term):
    """Remove TERM from the list CATEGORY."""
    _edit_words(ctx, "remove_word", category, term, click.ClickException)  # a missing term is not


@cli.command()
@json_option
@click.pass_context
def doctor(ctx: click.Context):
    """Report models, guard mode, GPU offload and threads."""
    from app.doctor import doctor_report, format_report

    report = doctor_report(_hearth(ctx))
    _emit(ctx, report, format_report(report))


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
