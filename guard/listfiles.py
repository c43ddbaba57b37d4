"""Word-list files: reading them, and adding or removing terms safely (for the UI and the CLI).

A list folder holds one UTF-8 file per category, `<category>.txt`, one term per line; `#` starts
a comment. `allow.txt` holds phrases that override a match they contain. Writes go to a temporary
file in the same folder that then replaces the list, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Iterable

from core.errors import InputError

__all__ = ["ALLOW", "read_terms", "list_files", "add_terms", "remove_terms", "check_term",
           "check_category"]

ALLOW = "allow"
_CATEGORY = re.compile(r"^[\w\-]{1,64}$")
_write_lock = threading.Lock()


def check_category(category: str) -> str:
    """The list name as it is stored (lower case), or InputError saying why it cannot be one."""
    category = (category or "").strip().lower()
    if not _CATEGORY.match(category):
        raise InputError(f"list name {category!r} is not usable: use letters, digits, '_' or '-' (at most 64), "
                         "e.g. 'project_names'.")
    return category


def check_term(term: str) -> str:
    """The term as it will be stored, or InputError saying why it cannot be a term."""
    from guard.normalize import term_forms

    t = (term or "").strip()
    if "\n" in t or "\r" in t:
        raise InputError("a term is one line; add several terms one by one.")
    if "#" in t:
        raise InputError(f"term {t!r} contains '#', which starts a comment in a list file.")
    if len(term_forms(t)["compact"]) < 2:
        raise InputError(f"term {t!r} is too short to match safely: it needs at least two letters or "
                            "characters after spaces and punctuation are removed.")
    return t


def read_terms(path: Path) -> list[tuple[int, str]]:
    """(line number, term) for every term in a list file, comments and blank lines skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"word list {path} is not UTF-8 text (byte {e.start}); save it as UTF-8 or remove it.") from e
    except OSError as e:
        raise InputError(f"cannot read word list {path}: {e.strerror or e}") from e
    out = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        term = line.split("#", 1)[0].strip()
        if term:
            out.append((n, term))
    return out


def list_files(folder: Path) -> dict[str, Path]:
    """category -> file, for every list in the folder (none if the folder does not exist yet)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"word-list folder {folder} is a file; point HEARTH_WORD_LISTS at a folder.")
    return {f.stem: f for f in sorted(folder.glob("*.txt"))} if folder.is_dir() else {}


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key(term: str) -> str:
    from guard.normalize import term_forms

    return term_forms(term)["text"]


def add_terms(folder: Path, category: str, terms: Iterable[str]) -> list[str]:
    """Append terms to <folder>/<category>.txt (created if needed); returns those actually added."""
    path = Path(folder) / f"{check_category(category)}.txt"
    new = [check_term(t) for t in terms]
    with _write_lock:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if path.exists():
            read_terms(path)  # refuse to rewrite a file that is not UTF-8
        have = {_key(t) for _, t in read_terms(path)} if path.exists() else set()
        added = []
        for t in new:
            if _key(t) not in have:
                have.add(_key(t))
                added.append(t)
        if added:
            _write(path, lines + added)
    return added


def remove_terms(folder: Path, category: str, terms: Iterable[str]) -> list[str]:
    """Remove lines whose term equals one of terms (after normalisation); returns the removed terms."""
    path = Path(folder) / f"{check_category(category)}.txt"
    drop = {_key(t) for t in terms if t.strip()}
    with _write_lock:
        if not path.exists():
            return []
        read_terms(path)
        kept, removed = [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            term = line.split("#", 1)[0].strip()
            if term and _key(term) in drop:
                removed.append(term)
            else:
                kept.append(line)
        if removed:
            _write(path, kept)
    return removed
