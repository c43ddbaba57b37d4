"""The OpenAI-compatible API: its overhead over the in-process pipeline, a bounded load test, and the
cost of each scale-out hop (a remote llama.cpp server, a Chroma server), all on loopback.

Baselines in the same run: the same turn through Pipeline in-process; embedded Chroma for the Chroma
server; in-process llama.cpp for the remote one.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import Figure, percentile

QUESTIONS = ["Say hello.", "Name a colour.", "Count to three.", "Name a fruit.", "What is two plus two?",
             "Name a month.", "Say goodbye.", "Name an animal."]


def _hearth(data_dir: Path, parts: dict | None = None, **changes):
    from app.hearth import Hearth
    from app.settings import load_settings

    return Hearth(load_settings({"data_dir": data_dir, "open_browser": False, "max_tokens": 16,
                                 "temperature": 0.0, "port": 7990, **changes}), **(parts or {}))


def _post(client: httpx.Client, url: str, key: str | None, question: str, max_tokens: int) -> tuple[int, dict, float]:
    t0 = time.perf_counter()
    r = client.post(url, json={"model": "hearth", "max_tokens": max_tokens,
                               "messages": [{"role": "user", "content": question}]},
                    headers={"Authorization": f"Bearer {key}"} if key else {})
    return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else {}), \
        time.perf_counter() - t0


def _on_thread(fn):
    """fn() on a fresh thread, as the API runs each turn. On this oversubscribed 2-core box llama.cpp
    decodes 5-50x slower on the process's main thread than on a fresh one (measured; see the report),
    so the in-process baseline must not run on the main thread."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def overhead(hearth, url: str, n: int) -> list[Figure]:
    """The same turn, alternately in-process (on a thread) and through POST /v1/chat/completions."""
    pipeline = hearth.pipeline(retrieve=False, max_tokens=16)
    _on_thread(lambda: pipeline.ask("warm up"))
    local, remote, added, local_tok, remote_tok = [], [], [], 0, 0
    with httpx.Client(timeout=300) as client:
        _post(client, url, None, "warm up", 16)
        for i in range(n):
            q = QUESTIONS[i % len(QUESTIONS)]
            t0 = time.perf_counter()
            turn = _on_thread(lambda: pipeline.ask(q))
            local.append(time.perf_counter() - t0)
            local_tok += int(turn.timings.get("tokens", 0))
            status, body, dt = _post(client, url, None, q, 16)
            assert status == 200, body
            remote.append(dt)
            remote_tok += body["usage"]["completion_tokens"]
            added.append((dt - local[-1]) * 1000)
    tps_local, tps_api = local_tok / sum(local), remote_tok / sum(remote)
    return [
        Figure("api", "answer tokens/s through the API (non-streamed, 16 tokens)", tps_api, "tokens/s",
               "same turns through Pipeline in-process", tps_local, note=f"{n} turns each, alternating"),
        Figure("api", "added latency per turn, p50", percentile(added, 50), "ms", higher_is_better=False,
               note="API minus in-process, paired turns"),
        Figure("api", "added latency per turn, p95", percentile(added, 95), "ms", higher_is_better=False,
               note=f"in-process turn p50 {percentile(local, 50) * 1000:.0f} ms"),
    ]


def load_test(hearth, url: str, requests: int, clients: int = 8) -> list[Figure]:
    """`clients` threads share `requests` small turns on an unlimited key; meanwhile a key limited to
    10 requests a minute lists the models 20 times: its 429s are deliberate."""
    _, key = hearth.api_keys.create("bench-load", rpm=0, tpm=0)
    _, limited = hearth.api_keys.create("bench-limited", rpm=10, tpm=0)
    todo = list(range(requests))
    lock = threading.Lock()
    results: list[tuple[int, float, int]] = []  # status, seconds, tokens
    limited_codes: list[int] = []

    def worker():
        with httpx.Client(timeout=600) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                try:
                    status, body, dt = _post(client, url, key, QUESTIONS[i % len(QUESTIONS)], 4)
                    tokens = body.get("usage", {}).get("completion_tokens", 0) if status == 200 else 0
                except httpx.HTTPError:
                    status, dt, tokens = -1, 0.0, 0
                with lock:
                    results.append((status, dt, tokens))

    def noisy():  # GET /v1/models does not wait for the model, so all 20 fall inside one minute
        with httpx.Client(timeout=600) as client:
            for _ in range(20):
                r = client.get(url.replace("/chat/completions", "/models"), headers={"Authorization": f"Bearer {limited}"})
                limited_codes.append(r.status_code)
                assert r.status_code != 429 or int(r.headers["retry-after"]) >= 1
                time.sleep(0.5)

    # One request alone first: the service time that queueing adds to.
    with httpx.Client(timeout=300) as client:
        alone = [(_post(client, url, key, QUESTIONS[0], 4)[2]) for _ in range(5)]
    service = statistics.median(alone)
    threads = [threading.Thread(target=worker) for _ in range(clients)] + [threading.Thread(target=noisy)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = [dt for status, dt, _ in results if status == 200]
    errors = sum(1 for status, _, _ in results if status != 200)
    done = len(lat)
    deliberate = sum(1 for c in limited_codes if c == 429)
    other = sum(1 for c in limited_codes if c not in (200, 429))
    waits = [max(0.0, dt - service) * 1000 for dt in lat]
    return [
        Figure("load", f"throughput, {clients} concurrent clients, {requests} requests of 4 tokens", done / wall,
               "requests/s", "one client alone", 1 / service,
               note="turns share one llama.cpp model: they queue, FIFO-ish, on its lock",
               extra={"wall_s": round(wall, 1), "tokens": sum(t for _, _, t in results)}),
        Figure("load", "errors (besides deliberate 429s)", errors + other, "requests", higher_is_better=False,
               target="0", met=errors + other == 0),
        Figure("load", "deliberate 429s (a key limited to 10 requests/min listing models 20 times)", deliberate,
               "requests",
               target="10", met=deliberate == 10, note="each with Retry-After"),
        Figure("load", "latency under load, p50", percentile(lat, 50) * 1000, "ms", "one client alone",
               service * 1000, higher_is_better=False),
        Figure("load", "latency under load, p95", percentile(lat, 95) * 1000, "ms", "one client alone",
               service * 1000, higher_is_better=False),
        Figure("load", "queueing wait, p95 (latency minus service time)", percentile(waits, 95), "ms",
               higher_is_better=False, note=f"about ({clients} - 1) x service time when every client waits"),
    ]


def _spawn(args: list[str], url: str, timeout_s: float = 180) -> subprocess.Popen:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{args[0]} did not start at {url}")


def hops(hearth, tmp: Path, n: int) -> list[Figure]:
    """A remote llama.cpp server for answers, and a Chroma server for the index, against in-process."""
    from app.web.server import free_port

    figures = []
    threads = str(hearth.settings.threads)
    port = free_port("127.0.0.1", 8490)
    server = _spawn([sys.executable, "-m", "engine.llamacpp", "--model", str(hearth.chat.path), "--host",
                     "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", threads],
                    f"http://127.0.0.1:{port}/v1/models")
    try:
        hearth.chat.close()  # one llama.cpp computes at a time on this machine
        remote = _hearth(tmp / "remote", {"embedder": hearth.embedder}, llm_url=f"http://127.0.0.1:{port}/v1")
        rp = remote.pipeline(retrieve=False, max_tokens=16)
        _timed_ask(rp, "warm up")
        r_times = [t for q in QUESTIONS[:n] for t in [_timed_ask(rp, q)]]
        remote.close()
    finally:
        server.terminate()
        server.wait(30)
    lp = hearth.pipeline(retrieve=False, max_tokens=16)
    _timed_ask(lp, "warm up")
    l_times = [_timed_ask(lp, q) for q in QUESTIONS[:n]]
    figures.append(Figure("hops", "turn through a llama.cpp OpenAI server on loopback, p50", percentile(r_times, 50),
                          "ms", "in-process llama.cpp", percentile(l_times, 50), higher_is_better=False,
                          note="16-token answers, same model and threads"))

    docs = [f"Passage {i}: the quarterly report discusses topic {i} and figure {i * 7}." for i in range(300)]
    vectors = hearth.embedder.embed(docs)
    port = free_port("127.0.0.1", 8590)
    chroma = _spawn([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(tmp / "chroma-server"),
                     "--host", "127.0.0.1", "--port", str(port)], f"http://127.0.0.1:{port}/api/v2/heartbeat")
    try:
        from rag.store import Store, open_chroma, open_chroma_http

        times = {}
        for name, client in (("embedded", open_chroma(tmp / "chroma-embedded")),
                             ("server", open_chroma_http(f"http://127.0.0.1:{port}"))):
            store = Store(client, "bench")
            store.add([str(i) for i in range(len(docs))], vectors, docs,
                      [{"file": "r.pdf", "page": 1, "doc_id": "d"}] * len(docs))
            times[name] = [_timed(lambda v=v: store.query(v, 4)) for v in vectors[:50]]
    finally:
        chroma.terminate()
        chroma.wait(30)
    figures.append(Figure("hops", "top-4 query on a Chroma server on loopback, p50", percentile(times["server"], 50),
                          "ms", "embedded Chroma", percentile(times["embedded"], 50), higher_is_better=False,
                          note="300 passages, 384 dimensions, 50 queries"))
    return figures


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def _timed_ask(pipeline, q: str) -> float:
    return _on_thread(lambda: _timed(lambda: pipeline.ask(q)))


def run(quick: bool) -> list[Figure]:
    from app.web.server import launch

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    with tempfile.TemporaryDirectory(prefix="hearth-bench-api-") as tmp:
        hearth = _hearth(Path(tmp) / "data")
        demo = launch(hearth, block=False)
        url = demo.local_url.rstrip("/") + "/v1/chat/completions"
        try:
            figures = overhead(hearth, url, 8 if quick else 24)
            figures += load_test(hearth, url, 96 if quick else 200)
        finally:
            demo.close()
        figures += hops(hearth, Path(tmp), 4 if quick else 8)
        hearth.close()
    return figures
