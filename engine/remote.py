"""An OpenAI-compatible server as the chat model (vLLM, TGI, llama.cpp server): ChatModel's seam over HTTP.

The server does the batching, so no lock is taken here: many turns can be generating at once while
the checks run in this process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Iterator, Sequence

import httpx

from core.errors import ModelError
from engine.chat import Generation, GenerationStats

__all__ = ["RemoteChatModel", "first_model"]

log = logging.getLogger(__name__)


def first_model(client: httpx.Client, base_url: str) -> str:
    """The first model a server lists at GET /models."""
    try:
        r = client.get(f"{base_url}/models")
        r.raise_for_status()
        return r.json()["data"][0]["id"]
    except (httpx.HTTPError, KeyError, IndexError, ValueError) as e:
        raise ModelError(f"{base_url}/models did not list a model ({e}); check HEARTH_LLM_URL or set "
                               "HEARTH_LLM_MODEL") from e


class RemoteChatModel:
    def __init__(self, base_url: str, *, api_key: str | None = None, model: str | None = None,
                 timeout_s: float = 600.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=10.0))
        self.lock = threading.RLock()  # only for load(); generation is the server's to schedule

    @property
    def name(self) -> str:
        return f"{self.model or '?'} at {self.base_url}"

    def load(self):
        with self.lock:
            if self.model is None:
                self.model = first_model(self._client, self.base_url)
        return self

    def count_tokens(self, text: str) -> int:
        """An over-estimate (about 3 bytes a token) so that context planning stays inside n_ctx."""
        return len(text.encode("utf-8")) // 3 + 1

    def stream(self, messages: Sequence[dict], *, max_tokens: int = 512, temperature: float = 0.2,
               repeat_penalty: float = 1.1, stop: threading.Event | None = None) -> Generation:
        """The answer's text as the server streams it, with its own stats; setting `stop` ends it early."""
        return Generation(lambda stats: self._pieces(stats, list(messages), max_tokens, temperature, stop))

    def _pieces(self, stats: GenerationStats, messages: list[dict], max_tokens: int, temperature: float,
                stop: threading.Event | None) -> Iterator[str]:
        self.load()
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                "temperature": temperature, "stream": True, "stream_options": {"include_usage": True}}
        t0, first, usage, n = time.perf_counter(), None, {}, 0
        try:
            with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as r:
                if r.status_code != 200:
                    r.read()
                    raise ModelError(f"{self.base_url}/chat/completions answered {r.status_code}: {r.text[:200]}; "
                                     "check HEARTH_LLM_URL and HEARTH_LLM_MODEL")
                for line in r.iter_lines():
                    if stop is not None and stop.is_set():
                        break
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            first = first or time.perf_counter()
                            n += 1
                            yield text
        except httpx.HTTPError as e:
            raise ModelError(f"the chat model server {self.base_url} failed: {e}; check HEARTH_LLM_URL") from e
        finally:
            stats.prompt_tokens = usage.get("prompt_tokens", 0)
            stats.decode_tokens = usage.get("completion_tokens", n)
            stats.wall_ms = (time.perf_counter() - t0) * 1000
            stats.first_token_ms = ((first or time.perf_counter()) - t0) * 1000

    def close(self) -> None:
        self._client.close()
