"""Every error Hearth raises for a person to read, in one small taxonomy.

Five families, each mapped once by every edge to its own output (the CLI: a usage error or a message and
exit status 1; the page: gr.Error; the API: an HTTP status in OpenAI's error shape):

    HearthError
    ├── InputError      something the user gave cannot be used (a question, a name, a file, a setting)  400
    ├── NotFoundError   something named does not exist (a model file, a document, a collection, a key)   404
    ├── LimitError      a quota or rate limit was reached                                                 429
    └── ModelError      a model or model server cannot be used (not Llama Guard, no answer, a download)   503

Each message names the file or setting concerned and says how to fix it. Everything else (a bug) is not a
HearthError and is reported as one.
"""

from __future__ import annotations

from pathlib import Path

from core.names import display_name

__all__ = ["HearthError", "InputError", "SettingsError", "DocumentLoadError", "InputFileError", "NotFoundError",
           "ModelNotFoundError", "LimitError", "ModelError", "GuardModelError", "GuardFormatError", "GuardTimeout",
           "DownloadError", "DownloadCancelled"]


class HearthError(Exception):
    """The base: an error whose message is meant for the user."""


class InputError(HearthError, ValueError):
    """Something the user gave cannot be used: a question, a name, a term, a file, a value."""


class SettingsError(InputError):
    """A setting has a value Hearth cannot use; the message names it and where it came from."""


class DocumentLoadError(InputError):
    """One document could not be read; the rest of an ingest goes on."""

    def __init__(self, path: Path | str, problem: str, fix: str = ""):
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{display_name(self.path)}: {problem}" + (f" {fix}" if fix else ""))


class InputFileError(InputError):
    """A file of questions, prompts or terms that cannot be used; the message names the file and the line."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}" if line is not None else f"{self.path}: {problem}")


class NotFoundError(HearthError, LookupError):
    """Something named does not exist: a model file, a document, a collection, an API key."""


class ModelNotFoundError(NotFoundError, FileNotFoundError):
    """A configured model file or folder does not exist."""


class LimitError(HearthError):
    """A quota or rate limit was reached: too many files, too large a file, too many documents."""


class ModelError(HearthError, RuntimeError):
    """A model or model server cannot be used: it is not what it claims, does not answer, or failed to download."""


class GuardModelError(ModelError):
    """The guard model cannot be used as a guard (missing, unloadable, not Llama Guard)."""


class GuardFormatError(ModelError):
    """The guard's answer cannot be read as a verdict (the turn is blocked)."""


class GuardTimeout(ModelError):
    """A guard check took longer than guard_timeout (the turn is blocked)."""


class DownloadError(ModelError):
    """A model could not be downloaded; the message says how to get it another way."""


class DownloadCancelled(DownloadError):
    """The user cancelled a download; its .part file is kept for the next pull to resume."""
