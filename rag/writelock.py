"""One writer per collection, across threads and processes.

An ingest, a removal and a repair of a collection hold its writer lock: a thread lock and a lock file beside the
catalog. The operating system releases the file's lock when its process dies, even by SIGKILL, so a document
left 'pending' while no process holds the lock was abandoned, and repair() may remove it; one left pending while
another process holds it (a page ingesting while `hearth search` opens the same index) is that process's work
in progress, and repair() leaves it alone.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

__all__ = ["WriterLock"]


class WriterLock:
    def __init__(self, path: Path | None):
        self._thread = threading.Lock()
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = FileLock(str(path), thread_local=False)

    def __enter__(self) -> "WriterLock":
        self._thread.acquire()
        try:
            if self._file is not None:
                self._file.acquire()  # waits while another process writes this collection
        except BaseException:
            self._thread.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.release()
        self._thread.release()

    @contextmanager
    def if_free(self) -> Iterator[bool]:
        """Hold the lock if nobody (no thread, no process) holds it now; yields whether it is held."""
        if not self._thread.acquire(blocking=False):
            yield False
            return
        try:
            if self._file is not None:
                try:
                    self._file.acquire(timeout=0)
                except Timeout:
                    yield False
                    return
            try:
                yield True
            finally:
                if self._file is not None:
                    self._file.release()
        finally:
            self._thread.release()
