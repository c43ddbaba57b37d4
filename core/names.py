"""How a file's name is stored and shown: characters that could hide or disguise it made visible."""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

__all__ = ["display_name", "upload_name"]


def display_name(path: str | PurePath) -> str:
    """The last part of a path, with control characters and invisible format characters (right-to-left overrides
    that show 'report\\u202efdp.exe' as 'reportexe.pdf', zero-width marks) written as [U+XXXX]."""
    name = PurePath(str(path).replace("\\", "/")).name if path else ""
    return "".join(f"[U+{ord(c):04X}]" if unicodedata.category(c) in ("Cc", "Cf") else c for c in name)


def upload_name(filename: str | None, default: str = "upload.txt", max_bytes: int = 200) -> str:
    """The name an uploaded file is written under, inside a folder of its own: the last part of what the client
    sent (either slash), hidden characters made visible (display_name), never '', '.' or '..', and short enough
    for any file system (its extension kept)."""
    name = display_name(filename or "").strip()
    if name in ("", ".", ".."):
        return default
    if len(name.encode("utf-8")) > max_bytes:
        suffix = PurePath(name).suffix[:16]
        stem = name[: len(name) - len(suffix)].encode("utf-8")[: max_bytes - len(suffix.encode("utf-8"))]
        name = stem.decode("utf-8", errors="ignore") + suffix
    return name
