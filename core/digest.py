"""SHA-256 digests: of text (ids, audit records, key hashes) and of files (downloads, documents)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_text", "sha256_file"]


def sha256_text(text: str) -> str:
    """The hex SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path | str, *, block: int = 1 << 20) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()
