"""The app against raw parts, in one run: decode speed through the pipeline vs raw llama-cpp-python,
time to first token of a guarded RAG turn and where it goes, and cold start vs a bare Gradio app.

    python -m benchmarks.run app [--quick]

- Decode: the same model instance, messages, max_tokens and greedy sampling; tokens/s from the first
  streamed piece to the last, through Pipeline.run (checks on every released piece included) and
  through Llama.create_chat_completion(stream=True). Repeats alternate; medians are compared.
- Time to first token: Pipeline.run from the call to the first streamed piece, split into input checks,
  retrieval, prompt reading (llama.cpp's own prompt-eval time) and the rest up to the first token.
  No Llama Guard weights can be installed here, so SmolLM2-135M stands in as the guard model (same
  code path, a smaller model than Llama Guard 3 1B: the guard share is a floor, not the real one).
- Cold start: a fresh `python -m app serve` process until its page answers HTTP 200, against a bare
  `gr.Blocks` app launched the same way (fresh process, same interpreter); then the seconds from launch
  until a first answer comes back through gradio_client (models load in the background meanwhile).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.common import ROOT, Figure

QUESTIONS = ["What was Orbit Corp revenue in 2023?", "How did the gross margin change?",
             "What risks does the report name?", "How much cash did the company hold?",
             "What did the company say about its outlook?", "Who is the chief executive?"]
DOC = ("Orbit Corp annual report 2023.\f"
       "Revenue in 2023 was 512 million dollars, up 9 percent on 2022. Gross margin rose from 41 to 43 "
       "percent as component costs fell.\f"
       "Risk factors: supply chain disruption, currency movements and the loss of key customers. Cash and "
       "equivalents were 88 million dollars at year end.\f"
       "Outlook: the chief executive, Dana Reyes, expects growth of 5 to 7 percent in 2024.")
DECODE_QUESTION = "List every fact the report gives, one per line, each with its citation, and explain each one."
BARE_APP = ("import gradio as gr, sys\n"
            "with gr.Blocks() as demo:\n    gr.Markdown('bare')\n"
            "demo.launch(server_name='127.0.0.1', server_port=int(sys.argv[1]), ssr_mode=False, quiet=True)\n")


def _hearth(data_dir: Path, parts: dict | None = None, **settings):
    from app.hearth import Hearth
    from app.settings import load_settings

    threads = os.cpu_count() or 1
    return Hearth(load_settings({"data_dir": data_dir, "open_browser": False, "n_threads": threads,
                                 "temperature": 0.0, **settings}, environ={}), **(parts or {}))


def _raw_rate(llm, messages, max_tokens: int) -> tuple[float, int]:
    """Tokens/s of raw llama-cpp-python streaming: first streamed piece to last."""
    stamps = []
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0,
                                            repeat_penalty=1.1, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter())
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]), len(stamps)


def _pipeline_rate(pipeline, question: str) -> tuple[float, int, dict]:
    from app.turn import Drafting, Finished

    stamps, result = [], None
    for event in pipeline.run(question):
        if isinstance(event, Drafting):
            stamps.append(time.perf_counter())
        elif isinstance(event, Finished):
            result = event.result
    assert result is not None and not result.blocked, result and result.message
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]), len(stamps), result.timings


def decode_figures(quick: bool) -> list[Figure]:
    from app.turn.prompt import build_messages

    max_tokens, repeats = (128, 5) if quick else (256, 7)
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "orbit.txt"
        doc.write_text(DOC, encoding="utf-8")
        hearth = _hearth(Path(tmp) / "data", max_tokens=max_tokens)
        try:
            list(hearth.ingest([doc]))
            pipeline = hearth.pipeline()
            question = DECODE_QUESTION  # asks for a long answer, so that decoding dominates
            sources = hearth.search(question)
            llm = hearth.chat_model.load()
            messages = build_messages(question, sources)  # what the pipeline sends (no history, all fit)
            _raw_rate(llm, messages, 16)  # warm both paths
            _pipeline_rate(pipeline, question)
            raw, piped, tokens = [], [], 0
            for _ in range(repeats):
                rate, tokens = _raw_rate(llm, messages, max_tokens)
                raw.append(rate)
                rate, n, _ = _pipeline_rate(pipeline, question)
                piped.append(rate)
            r, p = statistics.median(raw), statistics.median(piped)
            device = hearth.chat.offload.reason
        finally:
            hearth.close()
    return [Figure("decode", f"decode tokens/s streamed through Pipeline.run ({hearth.chat_model.name}, "
                   f"{tokens} tokens, median of {repeats})", p, "tokens/s",
                   baseline="raw llama-cpp-python create_chat_completion(stream=True), same instance and prompt",
                   baseline_value=r, target=">= 0.95x raw", met=p / r >= 0.95,
                   note=f"keyword filter on every released piece; {device}; load average {_load()}",
                   extra={"raw": raw, "pipeline": piped, "load_average": os.getloadavg()})]


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def ttft_figures(quick: bool, smollm: Path) -> list[Figure]:
    from app.turn import Drafting, Finished
    from guard import LlamaGuard

    turns = QUESTIONS[: 3 if quick else 6]
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "orbit.txt"
        doc.write_text(DOC, encoding="utf-8")
        guard = LlamaGuard(smollm, verify_model=False, min_format_mass=0.0, threshold=1.0,
                           n_threads=os.cpu_count() or 1)  # stand-in: see module doc; turns run one at a time
        hearth = _hearth(Path(tmp) / "data", {"llama_guard": guard}, max_tokens=32)
        try:
            list(hearth.ingest([doc]))
            pipeline = hearth.pipeline()
            pipeline.ask("Warm-up: what is this report?")
            rows = []
            for q in turns:
                t0, ttft, timings = time.perf_counter(), None, {}
                for event in pipeline.run(q):
                    if isinstance(event, Drafting) and ttft is None:
                        ttft = (time.perf_counter() - t0) * 1000
                    elif isinstance(event, Finished):
                        assert not event.result.blocked, event.result.message
                        timings = event.result.timings
                rows.append((ttft, timings))
        finally:
            guard.close()
            hearth.close()
    return _ttft_split(rows)


def _ttft_split(rows) -> list[Figure]:
    ttft = statistics.median(r[0] for r in rows)
    parts = {k: statistics.median(r[1].get(k, 0.0) for r in rows)
             for k in ("question_checks_ms", "retrieval_ms", "prompt_eval_ms", "first_token_ms")}
    after_prompt = max(parts["first_token_ms"] - parts["prompt_eval_ms"], 0.0)
    guard_share = parts["question_checks_ms"] / ttft if ttft else float("nan")
    note = (f"input checks {parts['question_checks_ms']:.0f} ms, retrieval {parts['retrieval_ms']:.0f} ms, "
            f"prompt reading {parts['prompt_eval_ms']:.0f} ms, first token {after_prompt:.0f} ms; "
            f"load average {_load()}")
    return [
        Figure("first token", "time to first token of a guarded RAG turn (median of "
               f"{len(rows)} questions)", ttft, "ms", higher_is_better=False, note=note,
               extra={"split_ms": parts, "first_token_after_prompt_ms": after_prompt}),
        Figure("first token", "guard share of time to first token (keyword filter + Llama Guard stand-in "
               "on the question)", guard_share * 100, "%", higher_is_better=False,
               note="SmolLM2-135M stands in for Llama Guard (no guard weights here): the real 1B guard costs more"),
    ]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until_http(url: str, proc: subprocess.Popen, limit: float = 600) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited: {proc.stdout.read()[-2000:] if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic()
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {limit} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cold_start_figures(quick: bool) -> list[Figure]:
    from gradio_client import Client

    repeats = 2 if quick else 3
    env = {**os.environ, "HEARTH_CONFIG": "/nonexistent/hearth.toml", "HEARTH_MAX_TOKENS": "16",
           "HEARTH_N_THREADS": str(os.cpu_count() or 1), "HEARTH_MODE": "desktop", "BROWSER": "true"}
    env.pop("SPACE_ID", None)
    bare, app, answer = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        doc = Path(tmp) / "orbit.txt"
        doc.write_text(DOC, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data), "ingest", str(doc)], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_APP)
        for _ in range(repeats):
            port = _port()
            t0 = time.monotonic()
            proc = subprocess.Popen([sys.executable, str(script), str(port)], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                bare.append(_until_http(f"http://127.0.0.1:{port}/", proc) - t0)
            finally:
                _stop(proc)

            port = _port()
            t0 = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data), "serve", "--no-browser",
                                     "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            try:
                url = f"http://127.0.0.1:{port}/"
                app.append(_until_http(url, proc) - t0)
                history, *_ = Client(url, verbose=False).predict(QUESTIONS[0], [], [], False, 0.0, 4,
                                                                 api_name="/ask")
                answer.append(time.monotonic() - t0)
                assert "orbit.txt" in str(history[-1]["content"]), history[-1]
            finally:
                _stop(proc)
    b, a, first = statistics.median(bare), statistics.median(app), statistics.median(answer)
    return [
        Figure("cold start", f"seconds from launch to a page that answers HTTP (median of {repeats})", a, "s",
               baseline="bare gr.Blocks app, fresh process, same interpreter", baseline_value=b,
               higher_is_better=False, target="<= 1.3x bare Gradio", met=a / b <= 1.3,
               note=f"models, torch and Chroma load in a background thread after the page is up; load average {_load()}",
               extra={"app": app, "bare": bare}),
        Figure("cold start", "seconds from launch to the first answer (a 16-token answer through gradio_client)",
               first, "s", higher_is_better=False, note="includes loading the embedder, the index and the chat "
               "model", extra={"runs": answer}),
    ]


def run(quick: bool) -> list[Figure]:
    from app.services.models import embedded_chat_model

    smollm = embedded_chat_model()
    figures = decode_figures(quick)
    figures += ttft_figures(quick, smollm)
    figures += cold_start_figures(quick)
    return figures
