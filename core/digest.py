"""SHA-256 digests: of text (ids, audit records, key hashes) and of files (downloads, documents)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_text", "sha256_file", "file_hasher"]


def sha256_text(text: str) -> str:
    """The hex SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path | str, *, block: int = 1 << 20) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    return file_hasher(path, block=block).hexdigest()


def file_hasher(path: Path | str, *, block: int = 1 << 20):
    """A SHA-256 hasher that has read the file so far, for a caller that goes on adding bytes (a resumed
    download)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h
