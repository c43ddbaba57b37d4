"""Loading the index, the embedder, the chat model and the guard in the background, and how far it got."""

from __future__ import annotations

import logging
from typing import Callable, Sequence

__all__ = ["Warmup"]

log = logging.getLogger(__name__)


class Warmup:
    def __init__(self, steps: Sequence[tuple[str, Callable[[], object]]]):
        self.steps = list(steps)
        self._state = {"step": 0, "name": "", "done": False, "error": ""}

    def run(self) -> None:
        """Each step in turn; the first failure is kept (shown on the page) and the same error comes back on use."""
        try:
            for i, (name, load) in enumerate(self.steps):
                self._state.update(step=i, name=name)
                load()
        except Exception as e:  # shown on the page; the same error comes back on first use
            log.exception("warm-up failed at %s", self._state["name"])
            self._state.update(error=f"{self._state['name']}: {e}")
        self._state.update(step=len(self.steps), done=True)

    def state(self) -> dict:
        """step, name, done, error and total: how far the loading got."""
        return {**self._state, "total": len(self.steps)}
