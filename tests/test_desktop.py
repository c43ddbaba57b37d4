"""Desktop mode, as a user meets it: `hearth serve` binds 127.0.0.1, moves off a taken port, opens the
browser, and a second launch opens the running instance instead of starting another."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT, ctrl_c_able


def _browser(tmp_path):
    """A stand-in browser (webbrowser honours $BROWSER): it only writes down the URL it was asked to open."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    script.chmod(0o755)
    return script, log


def _opened(log, n: int) -> list[str]:
    """The URLs the stand-in browser wrote down, once it has run n times (it runs detached)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        urls = log.read_text().split() if log.exists() else []
        if len(urls) >= n:
            return urls
        time.sleep(0.2)
    return log.read_text().split() if log.exists() else []


def _serve(data_dir, port, env):
    return subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data_dir), "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=ctrl_c_able)


def test_desktop_launch_binds_locally_moves_off_a_taken_port_and_a_second_launch_opens_the_first(tmp_path):
    browser, opened = _browser(tmp_path)
    env = {**os.environ, "BROWSER": str(browser), "HEARTH_CONFIG": str(tmp_path / "none.toml"),
           "HEARTH_N_THREADS": "1", "HEARTH_MODE": "desktop"}
    env.pop("SPACE_ID", None)
    data = tmp_path / "data"
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()  # another program already serves on the port Hearth would like
    port = taken.getsockname()[1]
    first = _serve(data, port, env)
    try:
        deadline = time.monotonic() + 600
        while not (data / "instance.json").exists():
            assert first.poll() is None, f"hearth serve exited: {first.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "hearth serve did not come up in 600 s"
            time.sleep(0.5)
        url = json.loads((data / "instance.json").read_text())["url"]
        assert url.startswith("http://127.0.0.1:") and f":{port}/" not in url
        assert urllib.request.urlopen(url, timeout=30).status == 200
        assert _opened(opened, 1) == [url]  # the first launch opened the page

        second = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data), "serve", "--port", str(port)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr[-2000:]
        assert f"Hearth is already running at {url}; opening it." in second.stdout
        assert _opened(opened, 2) == [url, url]  # ... and the second one opened the same page again
        assert first.poll() is None  # the first one still serves
    finally:
        first.send_signal(signal.SIGINT)
        try:
            first.wait(timeout=60)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()
        taken.close()
    assert not (data / "instance.json").exists()  # a stopped instance is not reported as running
