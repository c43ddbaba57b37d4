"""`hearth serve`, `keys` and `doctor`: running Hearth, its API keys and its health (models: app/cli/models.py)."""

from __future__ import annotations

import os

import click

from app.cli.common import emit, get_hearth, json_option

__all__ = ["COMMANDS", "serve"]


@click.command()
@click.option("--host", help="Address to bind [HEARTH_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port [HEARTH_PORT, default 7860].")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.pass_context
def serve(ctx: click.Context, host=None, port=None, no_browser=False):
    """Start the web page."""
    from app.web.server import serve as run_server

    changes = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if no_browser:
        changes["open_browser"] = False
    ctx.obj["settings"] = ctx.obj["settings"].model_copy(update=changes)
    run_server(get_hearth(ctx), window=ctx.obj.get("window"))  # the desktop bundle may give a native window


@click.group(invoke_without_command=True)
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
    from app.api.keys import ENDPOINTS

    key, secret = get_hearth(ctx).api_keys.create(name, models=tuple(models), endpoints=tuple(endpoints or ENDPOINTS),
                                                  rpm=rpm, tpm=tpm)
    emit(ctx, {**key.to_dict(), "key": secret},
         f"{secret}\n(key {key.name}, id {key.id}: shown once, store it now; revoke with `hearth keys revoke {key.name}`)")


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@json_option
@click.pass_context
def keys_list(ctx: click.Context, include_revoked=False):
    """The keys, without their secrets."""
    rows = [k.to_dict() for k in get_hearth(ctx).api_keys.list(include_revoked=include_revoked)]
    human = "\n".join(f"{r['id']}  {r['name']:20} {r['hint']}…  models {','.join(r['models'])}  endpoints "
                      f"{','.join(r['endpoints'])}  {r['rpm']} req/min  {r['tpm']} tok/min"
                      + ("  REVOKED" if r["revoked"] else "") for r in rows) or "No API keys. Create one with `hearth keys create NAME`."
    emit(ctx, rows, human)


@keys.command("revoke")
@click.argument("key")
@json_option
@click.pass_context
def keys_revoke(ctx: click.Context, key):
    """Revoke a key (by name or id); requests with it get 401 at once."""
    revoked = get_hearth(ctx).api_keys.revoke(key)
    emit(ctx, revoked.to_dict(), f"revoked {revoked.name} ({revoked.id})")


@click.command()
@click.option("--index", "check_index", is_flag=True,
              help="Also check that the catalog, the vector index and the keyword index agree, and repair them.")
@json_option
@click.pass_context
def doctor(ctx: click.Context, check_index: bool):
    """Report models, guard mode, GPU offload and threads; with --index, check and repair the index."""
    from app.services.doctor import doctor_report, format_index, format_report, index_report

    report = doctor_report(get_hearth(ctx), environ=os.environ)
    human = format_report(report)
    if check_index:
        from filelock import FileLock, Timeout

        from app.web.server import LOCK_FILE

        data_dir = ctx.obj["settings"].data_dir
        try:
            with FileLock(str(data_dir / LOCK_FILE)).acquire(timeout=0):
                report["index"] = index_report(get_hearth(ctx))
        except Timeout:
            raise click.ClickException(f"a Hearth is running on {data_dir}; stop it, then run `hearth doctor --index` "
                                       "again (a repair must not race a running ingest).") from None
        human += "\n\n" + format_index(report["index"])
    emit(ctx, report, human)


COMMANDS = [serve, keys, doctor]
