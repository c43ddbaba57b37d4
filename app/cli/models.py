"""`hearth models list|pull|add|use|remove`: the models Hearth knows, downloading, importing, choosing them."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click

from app.cli.common import emit, get_hearth, json_option

__all__ = ["COMMANDS"]


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def models(ctx: click.Context):
    """List known and added models (the default); pull, add, use or remove one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(models_list)


@models.command("list")
@json_option
@click.pass_context
def models_list(ctx: click.Context):
    """Known models, added files, whether they are installed and which are in use."""
    from app.services.installs import catalog, in_use

    rows = catalog(ctx.obj["settings"].data_dir, in_use(get_hearth(ctx)))
    human = "\n".join(f"{r['name']:24} {r['kind']:9} {'installed' if r['installed'] else 'not installed':14} "
                      f"{r['size']:>10}  {r['description']}" + (f"  [in use: {r['in_use']}]" if r["in_use"] else "")
                      for r in rows)
    emit(ctx, rows, human)


@models.command("pull")
@click.argument("name")
@json_option
@click.pass_context
def models_pull(ctx: click.Context, name):
    """Download a model (needs internet), e.g. qwen2.5-3b-instruct: progress on stderr, Ctrl+C cancels, a rerun
    resumes, the sha256 is checked before the file is used."""
    from tqdm import tqdm

    from app.services.downloads import pull

    cancel = threading.Event()
    with tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr, leave=False) as bar:
        def progress(p):
            bar.total = p.total or None
            bar.update(p.done - bar.n)

        worker = _Worker(lambda: pull(name, ctx.obj["settings"].data_dir, progress=progress, cancel=cancel))
        try:
            path = worker.wait()
        except KeyboardInterrupt:
            cancel.set()  # the download stops at its next block and keeps its .part for the next pull
            path = worker.wait()
    emit(ctx, {"name": name, "path": str(path)}, f"{name} installed at {path}")


@models.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--guard", is_flag=True, help="Add it as a guard model (it must load and verify as one).")
@json_option
@click.pass_context
def models_add(ctx: click.Context, path, guard=False):
    """Copy a GGUF file (or every GGUF in a folder) into the models folder, checked; for offline machines."""
    from app.services.installs import add

    added = add(path, ctx.obj["settings"].data_dir, guard=guard)
    emit(ctx, added, "\n".join(f"added {a['name']} ({a['kind']}" + (f", {a['variant']}" if a["variant"] else "")
                               + f") at {a['path']}; use it with `hearth models use {a['name']}"
                               + (" --guard`" if a["kind"] == "guard" else "`") for a in added))


@models.command("use")
@click.argument("name")
@click.option("--guard", is_flag=True, help="Use it as the guard model (loaded and verified now).")
@json_option
@click.pass_context
def models_use(ctx: click.Context, name, guard=False):
    """Use an installed model (a name from `hearth models list`, or a GGUF path) for chat, or as the guard;
    remembered for the next start (HEARTH_MODEL and HEARTH_GUARD_MODEL still win)."""
    from app.services.installs import use

    result = use(get_hearth(ctx), name, guard=guard)
    emit(ctx, result, f"now using {result['name']} as the {result['kind']} model")


@models.command("remove")
@click.argument("name")
@json_option
@click.pass_context
def models_remove(ctx: click.Context, name):
    """Delete a downloaded or added model (not the embedded ones, nor one in use)."""
    from app.services.installs import remove

    result = remove(get_hearth(ctx), name)
    emit(ctx, result, f"removed {result['name']} ({result['path']})")


class _Worker(threading.Thread):
    """Runs a download off the main thread, so that Ctrl+C reaches the main thread and cancels it cleanly."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None
        self.finished = threading.Event()  # not is_alive(): a join interrupted by Ctrl+C can leave that wrong
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as e:  # handed as it is to the thread that waits
            self.error = e
        finally:
            self.finished.set()

    def wait(self):
        while not self.finished.wait(0.2):
            pass
        if self.error is not None:
            raise self.error
        return self.result


COMMANDS = [models]
