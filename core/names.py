"""How a file's name is stored and shown: characters that could hide or disguise it made visible."""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

__all__ = ["display_name"]


def display_name(path: str | PurePath) -> str:
    """The last part of a path, with control characters and invisible format characters (right-to-left overrides
    that show 'report\\u202efdp.exe' as 'reportexe.pdf', zero-width marks) written as [U+XXXX]."""
    name = PurePath(str(path).replace("\\", "/")).name if path else ""
    return "".join(f"[U+{ord(c):04X}]" if unicodedata.category(c) in ("Cc", "Cf") else c for c in name)
