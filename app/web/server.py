"""Start the web page: on a free local port, once per data dir, warming models up in the background."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.request
import webbrowser
from pathlib import Path
from typing import Callable

from app.hearth import Hearth
from app.services.guarding import guard_configured

__all__ = ["serve", "free_port", "launch", "running_instance"]

log = logging.getLogger(__name__)

INSTANCE_FILE = "instance.json"
LOCK_FILE = "hearth.lock"  # held by the Hearth serving a data dir (and by `hearth doctor --index` while it repairs)


def free_port(host: str, preferred: int, tries: int = 100) -> int:
    """preferred if nothing listens there, else the next free port above it."""
    for port in range(preferred, preferred + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise OSError(f"no free port in {preferred}-{preferred + tries - 1} on {host}; set HEARTH_PORT")


def launch(hearth: Hearth, *, block: bool = True, demo=None):
    """Build (unless given the built page) and start the page, then warm the models up in the background;
    returns the Blocks."""
    from app.web.labels import i18n
    from app.web.page import build_ui

    s = hearth.settings
    port = free_port(s.host, s.port)
    if port != s.port:
        log.warning("port %d is taken, using %d", s.port, port)
    demo = build_ui(hearth) if demo is None else demo
    demo.queue(default_concurrency_limit=1)
    max_mb = s.spaces_max_file_mb if s.mode == "spaces" else s.max_file_mb
    threading.Thread(target=hearth.warmup.run, name="hearth-warmup", daemon=True).start()
    demo.launch(server_name=s.host, server_port=port, inbrowser=False, ssr_mode=False, i18n=i18n(),
                max_file_size=f"{max_mb}mb", prevent_thread_lock=True, show_error=True, quiet=True,
                app_kwargs={"routes": _api_routes(hearth)})
    if block:
        demo.block_thread()
    return demo


def _api_routes(hearth: Hearth) -> list:
    """The OpenAI-compatible /v1 routes, served first by the page's own FastAPI app (same port)."""
    if not hearth.settings.api:
        return []
    from app.api.routes import api_router

    return list(api_router(hearth).routes)


def _announce_api(hearth: Hearth, url: str) -> None:
    from app.api.keys import keys_required

    if not hearth.settings.api:
        return
    if not keys_required(hearth.settings):
        print(f"OpenAI-compatible API at {url.rstrip('/')}/v1 (no key needed on loopback).", flush=True)
    elif hearth.api_keys.any_active():
        print(f"OpenAI-compatible API at {url.rstrip('/')}/v1 (API key required).", flush=True)
    else:
        print(f"OpenAI-compatible API at {url.rstrip('/')}/v1 answers 401 until you create a key: "
              "`hearth keys create NAME`.", flush=True)


def running_instance(data_dir: Path) -> str | None:
    """The URL of a Hearth already serving this data dir, if it answers."""
    try:
        info = json.loads((data_dir / INSTANCE_FILE).read_text())
        url = info["url"]
        with urllib.request.urlopen(url, timeout=3) as r:
            return url if r.status == 200 else None
    except (OSError, ValueError, KeyError):
        return None


def serve(hearth: Hearth, *, window: Callable[[str], None] | None = None, demo=None) -> None:
    """Desktop: one Hearth per data dir; a second launch opens the running one instead. Spaces: just serve.

    window, if given, shows the page in a native window instead of the browser and returns when the
    user closes it; the server stops then (the desktop bundle passes pywebview here). demo: the page,
    if already built (the Space's app_file builds it on import).
    """
    from filelock import FileLock, Timeout

    s = hearth.settings
    if s.mode == "spaces":
        dropped = hearth.documents.drop_visitors()
        print(f"Hearth (Spaces mode) on http://{s.host}:{s.port}; {dropped} document(s) of earlier visitors "
              "deleted.", flush=True)
        launch(hearth, block=True, demo=demo)
        return
    lock = FileLock(str(s.data_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        url = running_instance(s.data_dir)
        if url is None:
            raise SystemExit(f"Another Hearth holds {s.data_dir} but does not answer; stop it, or use "
                             "--data-dir for a second one.") from None
        print(f"Hearth is already running at {url}; opening it.", flush=True)
        if s.open_browser:
            (window or webbrowser.open)(url)
        return
    try:
        guard = guard_configured(s)
        demo = launch(hearth, block=False, demo=demo)
        url = demo.local_url
        (s.data_dir / INSTANCE_FILE).write_text(json.dumps({"url": url, "pid": os.getpid()}))
        print(f"Hearth is running at {url} (data in {s.data_dir}); Ctrl+C stops it.", flush=True)
        if not guard:
            print("WARNING: no Llama Guard model is installed; turns are checked by the keyword filter only.",
                  flush=True)
        _announce_api(hearth, url)
        if s.open_browser and window is not None:
            window(url)  # returns when the window is closed
            demo.close()
        else:
            if s.open_browser:
                webbrowser.open(url)
            demo.block_thread()
    finally:
        (s.data_dir / INSTANCE_FILE).unlink(missing_ok=True)
        lock.release()
