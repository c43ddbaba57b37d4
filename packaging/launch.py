"""What a double-click on the Hearth bundle runs.

With no arguments: start the page on 127.0.0.1 (a free port from 7860 up), show it in a native
window when pywebview is in the bundle, else in the browser, and keep the user's data in the
platform's user data folder with a log file there. A second launch opens the running Hearth instead
of starting another. With arguments it is the `hearth` command (`Hearth ingest report.pdf`, ...).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from pathlib import Path

LOG_NAME = "hearth.log"


def data_dir(argv: list[str]) -> Path:
    """The data dir this run will use: --data-dir if given, else what the settings say."""
    for i, arg in enumerate(argv):
        if arg == "--data-dir" and i + 1 < len(argv):
            return Path(argv[i + 1]).expanduser()
        if arg.startswith("--data-dir="):
            return Path(arg.split("=", 1)[1]).expanduser()
    from app.settings import SettingsError, load_settings

    try:
        return load_settings().data_dir
    except SettingsError:  # the command line reports it properly; the log goes to the default place meanwhile
        import platformdirs

        return Path(platformdirs.user_data_dir("hearth", appauthor=False))


def log_to_file(folder: Path) -> Path:
    """All logging into <data dir>/logs/hearth.log; a windowed build (no console) also sends its output there."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    if sys.stdout is None or sys.stderr is None:  # Windows/macOS windowed build: fds 1 and 2 are not valid
        stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (lives as long as the process)
        os.dup2(stream.fileno(), 1)  # llama.cpp writes to (and redirects) the raw fds
        os.dup2(stream.fileno(), 2)
        sys.stdout = sys.stderr = stream
    return path


def native_window():
    """pywebview's window when the bundle has it, else None (the page opens in the browser)."""
    try:
        import webview
    except ImportError:
        return None

    def show(url: str) -> None:
        webview.create_window("Hearth", url, width=1280, height=860)
        webview.start()  # blocks on the main thread until the window is closed

    return show


def stop_on_signals() -> None:
    """SIGTERM (and closing the console on Windows) stops the server like Ctrl+C: index and lock released."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGBREAK", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


def main(argv: list[str] | None = None) -> None:
    multiprocessing.freeze_support()  # a frozen child process must not start another Hearth
    if os.environ.get("HEARTH_READER") == "1":  # the document reader process (rag/bounded.py), not a Hearth
        from rag.bounded import serve

        return serve()
    argv = list(sys.argv[1:] if argv is None else argv)
    folder = data_dir(argv)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(folder / "cache" / "uploads"))  # uploads stay with the data
    log = log_to_file(folder / "logs")
    logging.getLogger(__name__).info("Hearth bundle starting: argv=%s data_dir=%s frozen=%s",
                                     argv, folder, getattr(sys, "frozen", False))
    stop_on_signals()
    from app.cli import cli

    try:
        cli.main(args=argv, prog_name="hearth", obj={"window": native_window()}, standalone_mode=True)
    except SystemExit as e:
        if e.code not in (0, None):
            logging.getLogger(__name__).error("Hearth stopped with status %s; see %s", e.code, log)
        raise


if __name__ == "__main__":
    main()
