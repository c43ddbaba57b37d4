"""The `hearth` command. Every command takes --json for scripts; the web page is `hearth serve` (the default).

Commands live by role in this package (documents.py, guarding.py, admin.py); other packages add theirs through
the entry-point group `hearth.commands` (the evaluation's `hearth eval` and `hearth compare`), so nothing here
imports them. Errors Hearth raises on purpose (core.errors) become a usage error (bad input, exit 2) or a
message with exit status 1.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from app import __version__
from app.cli import admin, documents, guarding, models
from app.cli.common import json_option
from app.settings import load_settings
from core.errors import HearthError, InputError

__all__ = ["main", "cli"]

log = logging.getLogger(__name__)


class HearthGroup(click.Group):
    """Hearth's errors, wherever a command raises them, become click's: the message, and the exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as e:
            raise click.UsageError(str(e), ctx) from e
        except HearthError as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=HearthGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
    ctx.obj["settings"] = load_settings(overrides, config_file=config_file)  # SettingsError: a usage error
    if ctx.invoked_subcommand is None:
        ctx.invoke(admin.serve)


for module in (documents, guarding, models, admin):
    for command in module.COMMANDS:
        cli.add_command(command)


def _add_plugin_commands(group: click.Group) -> None:
    """Commands other installed packages register under `hearth.commands` (a broken one is skipped, logged)."""
    for ep in entry_points(group="hearth.commands"):
        try:
            group.add_command(ep.load(), ep.name)
        except Exception as e:  # a missing extra must not break every other command
            log.warning("hearth command %s (%s) is not available: %s", ep.name, ep.value, e)


def main() -> None:
    _add_plugin_commands(cli)
    cli(obj={})


if __name__ == "__main__":
    main()
