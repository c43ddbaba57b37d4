"""Read a document within a time and a memory ceiling. The readers (pypdfium2, python-docx, lxml) run in a reader
process of their own, one document at a time: it is killed (and started again for the next document) when a
document passes `Limits.max_seconds`, and its address space may grow by at most `Limits.max_memory_mb` while it
reads one (Linux and other systems with RLIMIT_AS; elsewhere only the time ceiling holds). A flate bomb, a
2,000-page PDF, deeply nested HTML or a file that crashes a C library fails alone with a DocumentLoadError; the
process that indexes never dies.

Pages that are only pictures are read by OCR in this process, after the reader has read the rest within the
ceilings (the OCR engine lives here; `Limits.ocr_max_pages` bounds it). The reader is `python -c 'from rag.bounded
import serve; serve()'` (a frozen bundle starts itself with HEARTH_READER=1, packaging/launch.py); it is not forked
from this threaded process, and no main module is imported again (what multiprocessing would do)."""

from __future__ import annotations

import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

from core.errors import DocumentLoadError
from rag.document import Limits, LoadedDocument, Ocr
from rag.load import load_document

__all__ = ["read_document", "serve"]

log = logging.getLogger(__name__)

READER_ENV = "HEARTH_READER"
_FIX = "Re-export it (print to PDF, save it again) and add it again"


def read_document(path: Path, *, limits: Limits, ocr: Ocr | None = None) -> LoadedDocument:
    """load_document(path), within the limits' ceilings when they set any."""
    path = Path(path)
    if limits.max_seconds is None and limits.max_memory_mb is None:
        return load_document(path, limits=limits, ocr=ocr)
    kind, *payload = _READER.read(path, limits, want_ocr=ocr is not None)
    if kind == "doc":
        return payload[0]
    if kind == "ocr":  # the pages with text were read within the ceilings; OCR reads the pictures here
        return load_document(path, limits=limits, ocr=ocr)
    if kind == "timeout":
        raise DocumentLoadError(path, f"reading it took longer than {limits.max_seconds:g} s, the ceiling for one "
                                "document.", "Raise the setting max_read_seconds to index it, or split the file.")
    if kind == "memory":
        raise DocumentLoadError(path, f"reading it needed more than {limits.max_memory_mb} MB of memory, the ceiling "
                                "for one document.", "Raise the setting max_read_mb to index it, or split the file.")
    if kind == "died":
        raise DocumentLoadError(path, f"the reader stopped on it ({payload[0]}): it needed more than the "
                                f"{limits.max_memory_mb} MB memory ceiling, or it is damaged in a way that crashes "
                                "the PDF, Word or HTML library.", f"{_FIX}, or raise the setting max_read_mb.")
    raise DocumentLoadError(path, *payload)


class _Reader:
    """The reader process, started on first use and again after it was stopped; one document at a time."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def read(self, path: Path, limits: Limits, *, want_ocr: bool) -> tuple:
        with self._lock:
            proc = self._start()
            if proc is None:
                return ("died", "the reader process did not start")
            answers: list = []
            try:
                _send(proc.stdin, (str(path), limits, want_ocr))
            except OSError:
                answers.append(None)
            waiter = threading.Thread(target=lambda: answers.append(_receive_or_none(proc.stdout)), daemon=True)
            if not answers:
                waiter.start()
                waiter.join(limits.max_seconds)
                if waiter.is_alive():  # past the time ceiling: stop the reader (the waiter then sees the pipe end)
                    self._stop()
                    waiter.join()
                    return ("timeout",)
            answer = answers[0]
            if answer is None:  # it died on this document: a crash, or out of memory inside a C library
                code = proc.wait(10)
                self._proc = None
                return ("died", f"signal {-code}" if code and code < 0 else f"exit status {code}")
            if answer[0] == "memory":  # what it freed may not go back to the system: start afresh
                self._stop()
            return answer

    def _start(self) -> subprocess.Popen | None:
        if self._proc is None or self._proc.poll() is not None:
            frozen = getattr(sys, "frozen", False)
            cmd = [sys.executable] if frozen else [sys.executable, "-c", "from rag.bounded import serve; serve()"]
            here = str(Path(__file__).resolve().parent.parent)  # the reader runs this copy of rag/, whatever its cwd
            path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          env={**os.environ, READER_ENV: "1", "PYTHONPATH": path})
            if _receive_or_none(self._proc.stdout) != ("ready",):  # imported and waiting: the ceilings start now
                self._stop()
                return None
            log.info("started the document reader pid=%d", self._proc.pid)
        return self._proc

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None


_READER = _Reader()


def serve() -> None:
    """The reader process: read each (path, limits, want_ocr) from stdin, answer on stdout, until stdin closes."""
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the answers
    requests = sys.stdin.buffer
    _send(channel, ("ready",))
    while True:
        try:
            path, limits, want_ocr = _receive(requests)
        except EOFError:
            return
        _send(channel, _answer(Path(path), limits, want_ocr))


class _WantsOcr(Exception):
    pass


def _no_ocr_here(image) -> str:
    raise _WantsOcr


def _answer(path: Path, limits: Limits, want_ocr: bool) -> tuple:
    _cap_memory(limits.max_memory_mb)
    try:
        return ("doc", load_document(path, limits=replace(limits, max_seconds=None, max_memory_mb=None),
                                     ocr=_no_ocr_here if want_ocr else None))
    except _WantsOcr:
        return ("ocr",)
    except DocumentLoadError as e:
        return ("failed", e.problem, e.fix)
    except MemoryError:
        return ("memory",)
    except RecursionError:
        return ("failed", "it is nested too deeply to read (thousands of levels of elements).",
                "Save it again from the program that made it, or export it as PDF.")
    except Exception as e:  # a reader's bug or an unexpected library error: this file fails, saying what it was
        log.exception("reading %s failed", path)
        return ("failed", f"it could not be read ({type(e).__name__}: {e}).", f"{_FIX}.")
    finally:
        _cap_memory(None)


def _cap_memory(mb: int | None) -> None:
    """Let the address space grow by at most `mb` from what it holds now (None: no cap); where RLIMIT_AS exists."""
    try:
        import resource

        cap = resource.RLIM_INFINITY
        if mb is not None:
            with open("/proc/self/status") as f:
                cap = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")) + mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, OSError, StopIteration, ValueError) as e:  # no /proc or no RLIMIT_AS: the time ceiling holds
        log.debug("no memory ceiling here: %s", e)


def _send(stream, obj) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive_or_none(stream):
    try:
        return _receive(stream)
    except (OSError, EOFError, pickle.UnpicklingError, struct.error, ValueError):
        return None


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)
