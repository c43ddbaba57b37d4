"""The one error the evaluation raises for bad input: it names the file and the line."""

from __future__ import annotations

from pathlib import Path

__all__ = ["EvalInputError"]


class EvalInputError(ValueError):
    """A question or prompt file, or a document folder, that the evaluation cannot use."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}")
