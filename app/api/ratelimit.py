"""Requests and tokens per minute, per API key: a sliding one-minute window. Pure, clock passed in."""

from __future__ import annotations

import math
import threading
from collections import deque

__all__ = ["RateLimiter", "WINDOW_S"]

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self):
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, *, rpm: int, tpm: int, now: float) -> float:
        """0 and the request is counted, or the seconds to wait before one is admitted (Retry-After)."""
        with self._lock:
            reqs = self._trim(self._requests.setdefault(key, deque()), now)
            toks = self._trim(self._tokens.setdefault(key, deque()), now)
            waits = []
            if rpm and len(reqs) >= rpm:
                waits.append(reqs[len(reqs) - rpm] + WINDOW_S - now)
            if tpm:
                used = sum(n for _, n in toks)
                for t, n in toks:  # the oldest entries leave the window first
                    if used < tpm:
                        break
                    used -= n
                    waits.append(t + WINDOW_S - now)
            if waits:
                return max(1.0, math.ceil(max(waits)))
            reqs.append(now)
            return 0.0

    def spend(self, key: str, tokens: int, *, now: float) -> None:
        """Count the tokens a finished request used (prompt and answer)."""
        if tokens > 0:
            with self._lock:
                self._tokens.setdefault(key, deque()).append((now, tokens))

    def tokens_used(self, key: str, *, now: float) -> int:
        """The tokens a key has spent in the last minute."""
        with self._lock:
            return sum(n for _, n in self._trim(self._tokens.get(key, deque()), now))

    @staticmethod
    def _trim(window: deque, now: float) -> deque:
        while window and (window[0] if isinstance(window[0], float) else window[0][0]) <= now - WINDOW_S:
            window.popleft()
        return window
