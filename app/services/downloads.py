"""Downloading registry models: progress, cancel, resume, sha256 checked, and no partial file ever loaded.

A download writes `<file>.part` in the models folder and resumes it with an HTTP Range request (after a cut
connection, a cancel or a restart); the final name appears only once the sha256 matches (an atomic rename).
The hub is asked the way huggingface_hub asks it: `{HF_ENDPOINT}/{repo}/resolve/{revision}/{filename}`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import httpx

from app.services import models
from core.digest import file_hasher
from core.errors import DownloadCancelled, DownloadError, InputError, LimitError

__all__ = ["Progress", "download", "pull", "file_url", "hub_endpoint", "part_path"]

DEFAULT_ENDPOINT = "https://huggingface.co"
CHUNK = 1 << 20
RETRIES = 3  # a connection cut mid-file is resumed this many times before the download fails
HEADROOM = 64 * 2**20  # free space kept beyond the file itself


@dataclass(frozen=True)
class Progress:
    """Where a download stands: bytes done of total, speed over this run, seconds left (None: not known yet)."""
    name: str
    done: int
    total: int
    bytes_per_s: float
    eta_s: float | None

    def to_dict(self) -> dict:
        return asdict(self)


ProgressFn = Callable[[Progress], None]


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub's address: as given, else HF_ENDPOINT (as huggingface_hub reads it), else huggingface.co."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def file_url(spec: models.ModelSpec, endpoint: str | None = None) -> str:
    return f"{hub_endpoint(endpoint)}/{spec.repo}/resolve/{spec.revision or 'main'}/{spec.filename}"


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def pull(name: str, data_dir: Path, *, progress: ProgressFn | None = None, cancel: threading.Event | None = None,
         endpoint: str | None = None) -> Path:
    """Download a registry model by name into <data_dir>/models; the embedded ones are already there."""
    spec = models.REGISTRY.get(name)
    if spec is None:
        raise DownloadError(f"unknown model {name!r}; known: {', '.join(models.REGISTRY)}")
    if spec.embedded:
        return models.installed_path(spec, data_dir)
    return download(spec, models.models_dir(data_dir), progress=progress, cancel=cancel, endpoint=endpoint)


def download(spec: models.ModelSpec, folder: Path, *, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, endpoint: str | None = None, chunk: int = CHUNK) -> Path:
    """Download one model file into folder and return its path; DownloadCancelled leaves the .part to resume."""
    target = Path(folder) / spec.filename
    if target.is_file():
        return target
    with _BUSY_LOCK:
        if target in _BUSY:
            raise InputError(f"{spec.name} is being downloaded already; wait for it, or cancel that download.")
        _BUSY.add(target)
    try:
        return _download(spec, target, progress=progress, cancel=cancel, endpoint=endpoint, chunk=chunk)
    finally:
        with _BUSY_LOCK:
            _BUSY.discard(target)


_BUSY: set[Path] = set()  # files being downloaded in this process: two writers would mix their bytes in one .part
_BUSY_LOCK = threading.Lock()


def _download(spec: models.ModelSpec, target: Path, *, progress, cancel, endpoint, chunk) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    _check_space(spec, target.parent, part.stat().st_size if part.exists() else 0)
    url = file_url(spec, endpoint)
    headers = {"Authorization": f"Bearer {os.environ['HF_TOKEN']}"} if os.environ.get("HF_TOKEN") else {}
    with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0, read=60.0), headers=headers) as client:
        expected = spec.sha256 or _hub_sha256(client, url)
        meter = _Meter(spec.name, progress)
        for attempt in range(RETRIES + 1):
            try:
                digest = _fetch(client, url, part, meter, cancel, chunk)
                break
            except (httpx.TransportError, _Cut) as e:  # a cut connection: resume from what the .part holds
                if attempt == RETRIES or isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)):
                    raise DownloadError(_offline(spec, url, target.parent, e)) from e
    if expected and digest != expected.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(f"{spec.name}: the downloaded {spec.filename} has sha256 {digest}, not {expected}; the "
                            f"file was deleted. Run `hearth models pull {spec.name}` again, or copy a good copy in "
                            "with `hearth models add PATH`.")
    os.replace(part, target)  # only now does a file Hearth would load exist
    return target


class _Cut(Exception):
    """The server closed the body before Content-Length bytes arrived."""


class _Meter:
    """Turns bytes written into Progress calls: speed over this run, time left."""

    def __init__(self, name: str, progress: ProgressFn | None):
        self.name, self.progress = name, progress
        self.start, self.first = time.monotonic(), None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            return
        if self.first is None:
            self.first = done
        elapsed = max(time.monotonic() - self.start, 1e-6)
        speed = (done - self.first) / elapsed
        eta = (total - done) / speed if speed > 0 and total else None
        self.progress(Progress(self.name, done, total, speed, eta))


def _fetch(client: httpx.Client, url: str, part: Path, meter: _Meter, cancel, chunk: int) -> str:
    """Append the rest of the file to part (Range from its size) and return the whole file's sha256."""
    done = part.stat().st_size if part.exists() else 0
    hasher = file_hasher(part, block=CHUNK) if done else hashlib.sha256()
    with client.stream("GET", url, headers={"Range": f"bytes={done}-"} if done else {}) as r:
        if r.status_code == 416 and done:  # the .part already holds the whole file
            return hasher.hexdigest()
        if r.status_code >= 400:
            raise DownloadError(f"could not download {meter.name}: the hub answered {r.status_code} for {url}"
                                + _hint(r.status_code))
        if r.status_code != 206:  # the server ignored the Range: start over
            done, hasher = 0, hashlib.sha256()
        length = int(r.headers.get("Content-Length", 0))
        total = done + length if length else 0
        with part.open("ab" if done else "wb") as f:
            meter(done, total)
            reported = done
            # the bytes as they arrive (iter_raw: no re-chunking copies) unless the server compressed them
            for data in (r.iter_bytes() if r.headers.get("Content-Encoding") else r.iter_raw()):
                f.write(data)
                hasher.update(data)
                done += len(data)
                if done - reported < chunk and done != total:
                    continue
                reported = done
                meter(done, total)
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(f"{meter.name}: download cancelled at {done} of {total} bytes; "
                                            f"{part.name} is kept and the next pull resumes it.")
    if total and done < total:
        raise _Cut(f"connection closed after {done} of {total} bytes")
    return hasher.hexdigest()


def _hub_sha256(client: httpx.Client, url: str) -> str | None:
    """The hub's LFS record of the file's sha256 (X-Linked-Etag on the resolve endpoint), if it answers."""
    try:
        r = client.head(url, follow_redirects=False)
    except httpx.TransportError:
        return None  # the download itself will say what is wrong
    etag = (r.headers.get("X-Linked-Etag") or "").strip('"').removeprefix("W/").strip('"')
    return etag.lower() if len(etag) == 64 else None


def _check_space(spec: models.ModelSpec, folder: Path, have: int) -> None:
    needed = max(spec.size_bytes - have, 0) + HEADROOM
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise LimitError(f"{spec.name} needs {needed / 2**30:.2f} GiB free in {folder}, which has "
                         f"{free / 2**30:.2f} GiB; free some space or set HEARTH_DATA_DIR to a larger disk.")


def _hint(status: int) -> str:
    if status in (401, 403):
        return ": the file needs a Hugging Face token (set HF_TOKEN) or accepting the model's licence on its page."
    if status == 404:
        return ": the file is not there (a renamed repository?)."
    return ": try again later."


def _offline(spec: models.ModelSpec, url: str, folder: Path, e: Exception) -> str:
    setting = "HEARTH_GUARD_MODEL" if spec.kind == "guard" else "HEARTH_MODEL"
    return (f"could not download {spec.name} from {url} ({e.__class__.__name__}: {e}). What arrived is kept and "
            f"the next pull resumes it. Offline? Download {spec.filename} on a connected machine and copy it in "
            f"with `hearth models add PATH` (it goes to {folder}), or set {setting} to its path.")
