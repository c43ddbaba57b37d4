"""Start the web page on a local port."""

from __future__ import annotations

import logging
import socket

from app.hearth import Hearth

__all__ = ["serve", "free_port", "launch"]

log = logging.getLogger(__name__)


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


def launch(hearth: Hearth, *, block: bool = True):
    """Build and start the page; returns the Blocks (and keeps serving when block=False)."""
    from app.ui import build_ui

    s = hearth.settings
    port = free_port(s.host, s.port)
    if port != s.port:
        log.warning("port %d is taken, using %d", s.port, port)
    demo = build_ui(hearth)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=s.host, server_port=port, inbrowser=s.open_browser, ssr_mode=False,
                max_file_size=f"{s.max_file_mb}mb", prevent_thread_lock=not block, show_error=True, quiet=True)
    return demo


def serve(hearth: Hearth) -> None:
    s = hearth.settings
    print(f"Hearth is starting on http://{s.host}:{s.port} (data in {s.data_dir}); Ctrl+C stops it.", flush=True)
    guard = hearth.guard_status()
    if guard["warning"]:
        print(f"WARNING: {guard['warning']}", flush=True)
    launch(hearth, block=True)
