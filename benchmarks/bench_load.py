"""Reliability under load, then a soak.

Load: 8 API clients x 200 chat requests, each client on its own key (a quarter of them streamed), while two page
users take turns through gradio_client, one of them also drops documents on the page, and a key limited to 10
requests a minute lists the models 20 times (its 429s are the deliberate ones). Checked, not timed: no error but
those 429s; every key billed exactly the tokens its own responses report (the limiter's spend, summed); every
answer is its own question's (each client asks a question of its own length: the prompt tokens a response reports
must be that question's, and the greedy answer must equal the one it got alone); each page user's conversation
(its export) holds only its own questions.

Soak: the same mix in rounds (the two page users clear their chats each round; the dropped documents are removed
and added again) for 30 minutes, the process's resident memory (RSS) sampled every 10 s; the slope is fitted over
the samples after the first fifth (warm-up: model buffers, caches, first Chroma segments).

Hearth runs in this process (its limiter is read directly), so RSS includes the clients' few threads, which are
created once and reused.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import Figure, ROOT

QUESTIONS = ["Say hello.", "Name a colour.", "Count to three.", "Name a fruit.", "What is two plus two?",
             "Name a month.", "Say goodbye.", "Name an animal."]
PAGE_QUESTIONS = (["What does the report say about revenue?", "Who wrote it?", "Name one risk."],
                  ["Say something kind.", "Name a river.", "What day follows Monday?"])
DOCS = [ROOT / "tests" / "data" / "aapl-2022-q3-10q.pdf"]


def client_question(k: int) -> str:
    """Client k's question: a length of its own, so its prompt tokens tell its responses apart."""
    return QUESTIONS[k % len(QUESTIONS)] + " Please" + " please" * (3 * k)


@dataclass
class Outcome:
    """What one run of the mix saw; `problems` lists every broken promise in words (empty: all kept)."""

    api_ok: int = 0
    page_turns: int = 0
    ingested: list[str] = field(default_factory=list)
    deliberate_429: int = 0
    problems: list[str] = field(default_factory=list)
    reported: dict[str, int] = field(default_factory=dict)  # key id -> tokens its responses reported
    wall_s: float = 0.0


class Mix:
    """The load: keys, clients and references made once, run as often as wanted (run_round)."""

    def __init__(self, hearth, url: str, *, clients: int = 8, page_users: int = 2, docs: list[Path] = DOCS):
        import openai
        from gradio_client import Client

        self.hearth, self.url, self.docs = hearth, url, docs
        self.keys = [hearth.api_keys.create(f"load-{k}", rpm=0, tpm=0) for k in range(clients)]
        self.limited = hearth.api_keys.create("load-limited", rpm=10, tpm=0)[1]
        self.api = [openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0, timeout=900)
                    for _, secret in self.keys]
        self.pages = [Client(url, verbose=False) for _ in range(page_users)]
        self.billed: dict[str, int] = {}
        spend = hearth.rate_limiter.spend

        def counting(key, tokens, *, now):  # the limiter is what bills a key; count what it is given
            with self._lock:
                self.billed[key] = self.billed.get(key, 0) + max(tokens, 0)
            spend(key, tokens, now=now)

        self._lock = threading.Lock()
        hearth.rate_limiter.spend = counting
        # Each client's question asked alone: the answer and prompt tokens it must always get back.
        self.reference = [self._ask(k, False) for k in range(clients)]

    def _ask(self, k: int, stream: bool) -> tuple[str, int, int]:
        """(answer, prompt tokens, total tokens) of client k's question."""
        messages = [{"role": "user", "content": client_question(k)}]
        if not stream:
            r = self.api[k].chat.completions.create(model="hearth", messages=messages, max_tokens=4, temperature=0)
            return r.choices[0].message.content, r.usage.prompt_tokens, r.usage.total_tokens
        parts, usage = [], None
        for ch in self.api[k].chat.completions.create(model="hearth", messages=messages, max_tokens=4, temperature=0,
                                                      stream=True, stream_options={"include_usage": True}):
            parts.extend(c.delta.content or "" for c in ch.choices)
            usage = ch.usage or usage
        return "".join(parts), usage.prompt_tokens, usage.total_tokens

    def run_round(self, requests: int, page_turns: int, ingest: bool, limited: bool) -> Outcome:
        out = Outcome()
        start_billed = dict(self.billed)
        threads = [threading.Thread(target=self._client, args=(k, requests, out)) for k in range(len(self.api))]
        threads += [threading.Thread(target=self._page_user, args=(p, page_turns, ingest and p == 0, out))
                    for p in range(len(self.pages))]
        if limited:
            threads.append(threading.Thread(target=self._limited, args=(out,)))
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out.wall_s = time.perf_counter() - t0
        for (key, _), k in zip(self.keys, range(len(self.keys))):
            billed = self.billed.get(key.id, 0) - start_billed.get(key.id, 0)
            if billed != out.reported.get(key.id, 0):
                out.problems.append(f"key {key.name} billed {billed} tokens, its responses report "
                                    f"{out.reported.get(key.id, 0)}")
        if limited and out.deliberate_429 != 10:
            out.problems.append(f"the limited key got {out.deliberate_429} 429s, not 10")
        return out

    def _client(self, k: int, requests: int, out: Outcome) -> None:
        answer, prompt, _ = self.reference[k]
        key = self.keys[k][0]
        for i in range(requests):
            try:
                got, got_prompt, total = self._ask(k, stream=i % 4 == 3)
            except Exception as e:  # every failure is a broken promise, reported with the rest
                with self._lock:
                    out.problems.append(f"client {k} request {i}: {type(e).__name__}: {e}")
                continue
            with self._lock:
                out.api_ok += 1
                out.reported[key.id] = out.reported.get(key.id, 0) + total
                if got_prompt != prompt:
                    out.problems.append(f"client {k} request {i}: {got_prompt} prompt tokens, its question has {prompt}")
                if got != answer:
                    out.problems.append(f"client {k} request {i}: answered {got!r}, alone it answers {answer!r}")

    def _page_user(self, p: int, turns: int, ingest: bool, out: Outcome) -> None:
        from gradio_client import handle_file

        page = self.pages[p]
        try:
            if ingest:
                log, *_ = page.predict([handle_file(str(d)) for d in self.docs], api_name="/ingest")
                with self._lock:
                    out.ingested.append(log)
                if "indexed" not in log.lower() and "unchanged" not in log.lower():
                    out.problems.append(f"page ingest: {log}")
            chat, asked = [], []
            for i in range(turns):
                q = PAGE_QUESTIONS[p][i % len(PAGE_QUESTIONS[p])] + f" (user {p}, turn {i})"
                chat = page.predict(q, chat, [], False, 0.0, 4, api_name="/ask")[0]
                asked.append(q)
            exported = Path(page.predict(api_name="/export")).read_text(encoding="utf-8") if turns else ""
            mine = [q for q in asked if q in exported]
            foreign = [q for other in PAGE_QUESTIONS for q in other if other is not PAGE_QUESTIONS[p]
                       and f"{q} (user" in exported]
            with self._lock:
                out.page_turns += turns
                if len(mine) != len(asked) or foreign:
                    out.problems.append(f"page user {p}: conversation holds {len(mine)} of its {len(asked)} "
                                        f"questions and {len(foreign)} of another user's")
            page.predict(api_name="/clear")
            if ingest:
                docs = self.hearth.documents.list()
                for d in docs:
                    self.hearth.documents.forget(d.doc_id)
        except Exception as e:
            with self._lock:
                out.problems.append(f"page user {p}: {type(e).__name__}: {e}")

    def _limited(self, out: Outcome) -> None:
        import httpx

        with httpx.Client(timeout=600) as c:
            for _ in range(20):
                r = c.get(self.url + "/v1/models", headers={"Authorization": f"Bearer {self.limited}"})
                with self._lock:
                    if r.status_code == 429:
                        out.deliberate_429 += 1
                    elif r.status_code != 200:
                        out.problems.append(f"limited key: GET /v1/models gave {r.status_code}")
                time.sleep(0.5)


def rss_mb() -> float:
    """This process's resident memory, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB an hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mt, mm = sum(t for t, _ in samples) / n, sum(m for _, m in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return sum((t - mt) * (m - mm) for t, m in samples) / var * 3600 if var else 0.0


def start(data_dir: Path, **changes):
    """A Hearth serving its page and API on a free loopback port, with API keys required; (hearth, demo, url)."""
    from app.hearth import Hearth
    from app.settings import load_settings
    from app.web.server import launch

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    hearth = Hearth(load_settings({"data_dir": data_dir, "open_browser": False, "max_tokens": 16, "temperature": 0.0,
                                   "port": 7940, "api_keys": "required", **changes}))
    demo = launch(hearth, block=False)
    return hearth, demo, demo.local_url.rstrip("/")


def run(quick: bool) -> list[Figure]:
    requests = 20 if quick else 200
    with tempfile.TemporaryDirectory(prefix="hearth-bench-load-") as tmp:
        hearth, demo, url = start(Path(tmp) / "data")
        try:
            mix = Mix(hearth, url)
            load = mix.run_round(requests=requests, page_turns=6, ingest=True, limited=True)
        finally:
            demo.close()
            hearth.close()
    return [
        Figure("load", f"API chat requests answered, 8 clients x {requests} (a quarter streamed)", load.api_ok,
               "requests", target=str(8 * requests), met=load.api_ok == 8 * requests,
               note=f"{load.wall_s:.0f} s, with {load.page_turns} page turns and a page ingest of {len(DOCS)} PDF(s)",
               extra={"wall_s": round(load.wall_s, 1)}),
        Figure("load", "throughput of the mix", load.api_ok / load.wall_s, "requests/s",
               note="4-token answers; turns queue on one llama.cpp model"),
        Figure("load", "broken promises (errors besides deliberate 429s, mis-billed keys, mixed answers)",
               len(load.problems), "", higher_is_better=False, target="0", met=not load.problems,
               note="; ".join(load.problems[:3])),
        Figure("load", "deliberate 429s (a key limited to 10 requests/min listing models 20 times)",
               load.deliberate_429, "requests", target="10", met=load.deliberate_429 == 10),
    ]
