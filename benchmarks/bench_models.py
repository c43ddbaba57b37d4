"""Installing and switching models: download throughput through Hearth's download service (Range-resumable,
sha256 checked while it streams, atomic rename) against a plain urllib copy from the same local server, and the
pause between `use` (switching the chat model) and the first answer with the new model.

Baselines in the same run: urllib.request + shutil.copyfileobj for the download; a fresh llama_cpp.Llama on the
same file answering the same question for the switch.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.common import Figure

QUESTION = "Say hello."


def _server(files: dict[str, bytes]) -> http.server.ThreadingHTTPServer:
    """Answers GET {path} like the hub's resolve endpoint, with Range."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            body = files[self.path.lstrip("/")]
            start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(memoryview(body)[start:])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def download_throughput(source: Path, repeat: int) -> list[Figure]:
    from app.services import downloads
    from app.services.models import ModelSpec

    body = source.read_bytes()
    spec = ModelSpec("bench-model", "chat", "benchmark copy", repo="bench/Model-GGUF", filename="model.gguf",
                     size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest())
    server = _server({"bench/Model-GGUF/resolve/main/model.gguf": body})
    url = f"http://127.0.0.1:{server.server_address[1]}"
    hearth_s, plain_s = [], []
    with tempfile.TemporaryDirectory(prefix="hearth-bench-dl-") as tmp:
        for _ in range(repeat):  # alternately, so that both see the same machine load
            t0 = time.perf_counter()
            path = downloads.download(spec, Path(tmp), endpoint=url)
            hearth_s.append(time.perf_counter() - t0)
            path.unlink()
            t0 = time.perf_counter()
            with urllib.request.urlopen(downloads.file_url(spec, url)) as r, open(Path(tmp) / "plain.gguf", "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
            plain_s.append(time.perf_counter() - t0)
            (Path(tmp) / "plain.gguf").unlink()
    server.shutdown()
    server.server_close()
    mb = len(body) / 2**20
    hearth_rate, plain_rate = mb / statistics.median(hearth_s), mb / statistics.median(plain_s)
    return [Figure("models", f"download throughput, Hearth's service ({mb:.0f} MB GGUF, loopback, median of "
                   f"{repeat})", hearth_rate, "MiB/s", "urllib + copyfileobj from the same server", plain_rate,
                   note="Hearth also hashes (sha256) as it streams, can resume by Range and renames atomically; on "
                   "loopback those costs show, over a real link (10-100 MB/s) they vanish",
                   extra={"hearth_s": hearth_s, "plain_s": plain_s})]


def _on_thread(fn):
    """fn() on a fresh thread, as the page and the API run turns (see bench_api.py for why)."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def switch_pause(source: Path, repeat: int) -> list[Figure]:
    """Use another chat model (the embedded SmolLM2 under other names), then time until its first answer;
    alternately with a fresh llama.cpp load of the same file answering the same question."""
    from app.hearth import Hearth
    from app.services.installs import add, use
    from app.settings import load_settings
    from engine import open_llama

    pauses, raws, answers = [], [], []
    with tempfile.TemporaryDirectory(prefix="hearth-bench-use-") as tmp:
        settings = load_settings({"data_dir": Path(tmp) / "data", "open_browser": False, "max_tokens": 16,
                                  "temperature": 0.0})
        copies = [Path(tmp) / f"Other-Chat-Model-{i}.gguf" for i in range(2)]
        for copy in copies:
            shutil.copyfile(source, copy)
            add(copy, settings.data_dir)
        hearth = Hearth(settings)

        def switch_and_answer(name: str):
            t0 = time.perf_counter()
            use(hearth, name)
            answer = hearth.pipeline(retrieve=False, max_tokens=8).ask(QUESTION)
            return time.perf_counter() - t0, answer.answer

        def raw(path: Path):
            t0 = time.perf_counter()
            llm = open_llama(path, n_ctx=settings.n_ctx, verbose=False)  # llama_cpp.Llama, AMX repacking off
            llm.create_chat_completion([{"role": "user", "content": QUESTION}], max_tokens=8, temperature=0.0)
            took = time.perf_counter() - t0
            llm.close()
            return took

        try:
            _on_thread(lambda: hearth.pipeline(retrieve=False).ask("warm up"))  # the first model, in use
            for i in range(repeat):
                pause, answer = _on_thread(lambda: switch_and_answer(copies[i % 2].stem))
                pauses.append(pause)
                answers.append(answer)
                raws.append(_on_thread(lambda: raw(copies[i % 2])))
        finally:
            hearth.close()
    pause, baseline = statistics.median(pauses), statistics.median(raws)
    return [Figure("models", f"pause from `use` (switch chat model) to the first answer (8 tokens, checks on; "
                   f"median of {repeat})", pause, "s", "a fresh llama_cpp.Llama (engine.open_llama) on the same file, "
                   "same question", baseline, higher_is_better=False, target="<= 1.5x the raw load and answer",
                   met=pause <= 1.5 * baseline, note="Hearth's turn also runs the keyword checks on question and answer",
                   extra={"pauses_s": pauses, "raw_s": raws, "answers": answers})]


def run(quick: bool) -> list[Figure]:
    from app.services.models import embedded_chat_model

    source = embedded_chat_model()
    return download_throughput(source, repeat=3 if quick else 7) + switch_pause(source, repeat=3 if quick else 7)
