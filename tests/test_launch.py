"""The double-click path without building a bundle: the launcher's choices and serve() with a native window."""

import importlib.util
import json
import logging
import urllib.request

from conftest import ROOT


def load_launcher():
    spec = importlib.util.spec_from_file_location("hearth_launch", ROOT / "packaging" / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_launcher_finds_the_data_dir_like_the_command_line(tmp_path):
    launch = load_launcher()
    assert launch.data_dir(["--data-dir", str(tmp_path / "a"), "serve"]) == tmp_path / "a"
    assert launch.data_dir([f"--data-dir={tmp_path / 'b'}"]) == tmp_path / "b"
    assert launch.data_dir(["serve", "--no-browser"]) == tmp_path / "data"  # HEARTH_DATA_DIR (conftest)


def test_the_launcher_logs_to_a_file_in_the_data_dir(tmp_path):
    launch = load_launcher()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []
    try:
        path = launch.log_to_file(tmp_path / "logs")
        logging.getLogger("app.test").info("loaded file=%s", "x.pdf")
        for h in root.handlers:
            h.flush()
    finally:
        for h in root.handlers:
            h.close()
        root.handlers, root.level = saved
    assert path == tmp_path / "logs" / "hearth.log"
    assert "INFO app.test: loaded file=x.pdf" in path.read_text()


def test_a_native_window_shows_the_page_and_closing_it_stops_hearth(hearth):
    from filelock import FileLock

    from app.web.server import INSTANCE_FILE, running_instance, serve

    hearth.settings = hearth.settings.model_copy(update={"open_browser": True, "port": 7880})
    data = hearth.settings.data_dir
    seen = {}

    def window(url):  # what pywebview does: show the page, return when the user closes the window
        with urllib.request.urlopen(url, timeout=60) as r:
            seen["status"] = r.status
        seen["url"] = url
        seen["instance"] = json.loads((data / INSTANCE_FILE).read_text())
        seen["second launch finds"] = running_instance(data)

    serve(hearth, window=window)
    assert seen["status"] == 200 and seen["url"].startswith("http://127.0.0.1:")
    assert seen["instance"]["url"] == seen["url"] == seen["second launch finds"]
    assert not (data / INSTANCE_FILE).exists()  # stopped cleanly once the window closed
    lock = FileLock(str(data / "hearth.lock"))
    lock.acquire(timeout=0)  # released: the next launch starts a new Hearth
    lock.release()
    assert running_instance(data) is None
    try:
        urllib.request.urlopen(seen["url"], timeout=5)
        still_serving = True
    except OSError:
        still_serving = False
    assert not still_serving  # the server went down with the window
