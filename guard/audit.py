"""The audit log: one JSON line per blocked turn, on the user's own disk.

Each entry has the time, the stage (question/answer), the layer, its status, categories, score and
reason, and the SHA-256 of the blocked text, so a report can be matched to a text the user still
has without the log holding it. The text itself is written only when include_text is on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Sequence

from core.digest import sha256_text

__all__ = ["AuditLog", "text_hash"]

log = logging.getLogger(__name__)


def text_hash(text: str) -> str:
    return "sha256:" + sha256_text(text)


class AuditLog:
    def __init__(self, path: Path, *, include_text: bool = False):
        self.path = Path(path)
        self.include_text = include_text
        self._lock = threading.Lock()

    def record(self, *, stage: str, layer: str, status: str, text: str, categories: Sequence[str] = (),
               score: float | None = None, reason: str = "") -> dict:
        """Append one blocked check; returns the entry written."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "stage": stage, "layer": layer,
            "status": status, "categories": list(categories), "score": score, "reason": reason,
            "text_sha256": text_hash(text), "chars": len(text),
        }
        if self.include_text:
            entry["text"] = text
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
        log.info("blocked stage=%s layer=%s categories=%s", stage, layer, ",".join(categories))
        return entry

    def entries(self, limit: int = 50) -> list[dict]:
        """The most recent entries, newest first (a damaged line is shown as such, not skipped)."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()[-limit:] if limit > 0 else []
        out = []
        for n, line in enumerate(lines):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"time": "", "stage": "", "layer": "", "status": "damaged",
                            "reason": f"{self.path}: unreadable line {n + 1} of the last {len(lines)}"})
        return out[::-1]
