"""The one writer to Chroma during an ingest: a thread that stores embedded chunks in batches of a few hundred
while the caller embeds the next ones."""

from __future__ import annotations

import queue
import threading
from typing import Sequence

from rag.store import Store

__all__ = ["ChunkWriter", "WRITE_BATCH"]

WRITE_BATCH = 256
_FLUSH, _STOP = object(), object()


class ChunkWriter:
    def __init__(self, store: Store, *, batch: int = WRITE_BATCH):
        self.store = store
        self.batch = batch
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._buffer: list[tuple] = []
        self._thread = threading.Thread(target=self._run, name="hearth-write", daemon=True)
        self._thread.start()

    def add(self, ids: Sequence[str], vectors, texts: Sequence[str], metadatas: Sequence[dict]) -> None:
        self._raise()
        self._buffer.extend(zip(ids, vectors, texts, metadatas))
        if len(self._buffer) >= self.batch:
            self._send()

    def flush(self) -> None:
        """Return once everything added so far is in Chroma; raise what went wrong in the writer."""
        self._send()
        self._done.clear()
        self._queue.put(_FLUSH)
        self._done.wait()
        self._raise()

    def discard(self) -> None:
        """Drop what is not written yet (the caller removes what was) and forget any error."""
        self._buffer.clear()
        try:
            self.flush()
        except BaseException:  # noqa: BLE001 - discarding after a failure: the error was already raised
            pass
        self._error = None

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _send(self) -> None:
        if self._buffer:
            self._queue.put(self._buffer)
            self._buffer = []

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if item is _FLUSH:
                self._done.set()
                continue
            if self._error is not None:
                continue  # after a failure, skip writes until the caller flushes and sees it
            try:
                ids, vectors, texts, metas = zip(*item)
                self.store.add(list(ids), list(vectors), list(texts), list(metas))
            except BaseException as e:  # handed to the caller's thread at the next add or flush
                self._error = e
