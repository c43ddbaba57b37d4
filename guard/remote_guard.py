"""Llama Guard 3 on its own OpenAI-compatible server (vLLM, llama.cpp server): same prompt, fail closed.

The prompt is sent as text to /completions; conversation text is defanged so that it cannot spell a
special token the server would parse. The verdict is the greedy answer ("safe" or "unsafe\\nS1,..."):
anything else, an HTTP error or a timeout blocks the turn.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

import httpx

from guard.llama_guard_prompt import LG3_VARIANTS, GuardPrompt, categories_for, render_llama_guard_3
from core.errors import GuardFormatError
from guard.verdict import Verdict, parse_llama_guard_output

__all__ = ["RemoteLlamaGuard", "prompt_text"]

log = logging.getLogger(__name__)

LAYER = "llama_guard"


def prompt_text(prompt: GuardPrompt) -> str:
    """The prompt as one string, with '<|' in untrusted text broken up so it cannot become a special token."""
    return "".join(text if trusted else text.replace("<|", "< |").replace("|>", "| >")
                   for text, trusted in prompt.segments)


class RemoteLlamaGuard:
    layer = LAYER

    def __init__(self, base_url: str, *, api_key: str | None = None, model: str | None = None,
                 timeout_s: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.variant = next((v for v in LG3_VARIANTS if model and v in model.lower()), "llama-guard-3-1b")
        self.model_path = f"{self.base_url} ({model or 'first listed model'})"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=10.0))
        self._lock = threading.Lock()

    available = True
    strict = False
    threshold = None

    def render(self, conversation: Sequence[tuple[str, str]]) -> GuardPrompt:
        return render_llama_guard_3(conversation, variant=self.variant, categories=categories_for(self.variant))

    def check(self, conversation: Sequence[tuple[str, str]]) -> Verdict:
        """Verdict on the last message; every failure is a blocking 'error' verdict."""
        t0 = time.perf_counter()
        try:
            text = self._complete(prompt_text(self.render(conversation)))
            safe, categories = parse_llama_guard_output(text)
        except (httpx.HTTPError, GuardFormatError, ValueError, KeyError, IndexError) as e:
            log.warning("remote guard check failed closed: %s", e)
            return Verdict(LAYER, "error", reason=f"the Llama Guard server {self.base_url} failed, so the turn is "
                                                  f"blocked: {e}")
        ms = (time.perf_counter() - t0) * 1000
        if safe:
            return Verdict(LAYER, "passed", reason=f"safe ({self.base_url}, {ms:.0f} ms)")
        names = {c.code: c.name for c in categories_for(self.variant)}
        return Verdict(LAYER, "blocked", categories, 1.0,
                       "Llama Guard: unsafe (" + ", ".join(f"{c} {names.get(c, '')}".strip() for c in categories) + ")")

    def _complete(self, prompt: str) -> str:
        with self._lock:
            if self.model is None:
                r = self._client.get(f"{self.base_url}/models")
                r.raise_for_status()
                self.model = r.json()["data"][0]["id"]
        r = self._client.post(f"{self.base_url}/completions", json={
            "model": self.model, "prompt": prompt, "max_tokens": 12, "temperature": 0.0})
        r.raise_for_status()
        return r.json()["choices"][0]["text"]

    def close(self) -> None:
        self._client.close()
