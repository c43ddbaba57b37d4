"""What every `hearth` command shares: the Hearth of this invocation, --json, and printing."""

from __future__ import annotations

import json

import click

__all__ = ["emit", "get_hearth", "json_option"]


def emit(ctx: click.Context, data, human: str) -> None:
    """data as one JSON line with --json, else the human text."""
    if ctx.obj["json"]:
        click.echo(json.dumps(data, ensure_ascii=False, indent=None))
    else:
        click.echo(human)


def get_hearth(ctx: click.Context):
    """The Hearth of this command line, built once from its settings and closed when the command ends."""
    if "hearth" not in ctx.obj:
        from app.hearth import Hearth

        ctx.obj["hearth"] = Hearth(ctx.obj["settings"])
        ctx.call_on_close(ctx.obj["hearth"].close)
    return ctx.obj["hearth"]


def json_option(f):
    """--json on any command or group: print JSON for scripts."""
    def callback(ctx, _param, value):
        if value:
            ctx.find_root().obj["json"] = True
    return click.option("--json", "as_json", is_flag=True, expose_value=False, callback=callback,
                        help="Print JSON for scripts.")(f)
