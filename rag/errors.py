"""The errors rag/ raises; each message names the file and what to do about it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DocumentLoadError", "ModelNotFoundError"]


class DocumentLoadError(Exception):
    """One document could not be read; the rest of an ingest goes on."""

    def __init__(self, path: Path | str, problem: str, fix: str = ""):
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path.name}: {problem}" + (f" {fix}" if fix else ""))


class ModelNotFoundError(FileNotFoundError):
    """A configured model file or folder does not exist."""
