"""Uploads never write outside the data dir: hostile file names (path separators of both kinds, '..', absolute
paths, NUL and other control characters, right-to-left overrides, names longer than a file system takes) sent to
the API's upload route and dropped on the page (Gradio's own upload route, then the page's ingest), against a real
Hearth on 127.0.0.1."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

MARK = f"escape{uuid.uuid4().hex[:8]}"
HOSTILE = [f"../../../{MARK}-1.txt", f"..\\..\\..\\{MARK}-2.txt", f"/tmp/{MARK}-3.txt", "..", ".", " ",
           f"C:\\Windows\\{MARK}-4.txt", f"sub/../../{MARK}-5.md", f"a\x00b{MARK}-6.txt", f"report\u202etxt.{MARK}.exe",
           f"{MARK}-7-" + "x" * 300 + ".txt", f"line\nbreak{MARK}-8.txt", f"~/{MARK}-9.txt", f"%2e%2e%2f{MARK}-10.txt"]


@pytest.fixture
def started(hearth):
    from app.web.server import launch

    demos = []

    def start(**changes):
        hearth.settings = hearth.settings.model_copy(update={"port": 7886, "max_tokens": 16, **changes})
        demos.append(launch(hearth, block=False))
        return demos[-1].local_url.rstrip("/")

    yield start
    for demo in demos:
        demo.close()


def _escaped(data_dir: Path, *allowed: Path) -> list[str]:
    """Anything with MARK in its name outside the data dir: in the test's folder, the folders above the data dir
    and the system's temporary folder (where uploads used to go)."""
    found = [str(p) for p in data_dir.parent.rglob(f"*{MARK}*") if data_dir not in p.parents]
    for folder in [*list(data_dir.parents)[:6], Path(tempfile.gettempdir()), Path(tempfile.gettempdir()) / "gradio"]:
        if folder.is_dir():
            found += [str(p) for p in folder.iterdir() if MARK in p.name and data_dir not in p.parents]
    return sorted(p for p in set(found) if not any(Path(p).is_relative_to(a) for a in allowed))


def test_api_upload_with_hostile_names_writes_only_inside_the_data_dir(started, hearth):
    url = started()
    data_dir = hearth.settings.data_dir
    files = [("file", (name, f"Note {i} about the lighthouse.".encode(), "text/plain")) for i, name in enumerate(HOSTILE)]
    r = httpx.post(f"{url}/v1/collections/notes/documents", files=files, timeout=300)
    assert r.status_code == 200, r.text
    results = r.json()["documents"]
    assert len(results) == len(HOSTILE)
    for result in results:
        assert "/" not in result["file"] and "\\" not in result["file"] and result["file"] not in ("", ".", "..")
        assert "\x00" not in result["file"] and "\u202e" not in result["file"]
        assert str(data_dir) not in result["file"]  # the server's folders are not shown
    no_name = httpx.post(f"{url}/v1/collections/notes/documents", files=[("file", ("", b"x", "text/plain"))])
    assert no_name.status_code == 400 and no_name.json()["error"]["param"] == "file"  # a text field, not a file
    indexed = [x for x in results if x["status"] == "indexed"]
    assert len(indexed) >= 8  # those with a .txt or .md name are read; the rest fail alone ('.exe', no extension)
    assert _escaped(data_dir) == []
    uploads = data_dir / "cache" / "uploads"
    assert uploads.is_dir() and not any(uploads.iterdir())  # each upload's folder is gone after the ingest
    stored = {d.file for d in hearth.documents.list(next(c for c in hearth.catalog.collections() if c.endswith("notes")))}
    assert f"report[U+202E]txt.{MARK}.exe" not in stored and all("\u202e" not in f for f in stored)


def test_page_upload_with_hostile_names_writes_only_inside_the_data_dir(started, hearth, tmp_path):
    from gradio_client import Client, handle_file

    url = started()
    data_dir = hearth.settings.data_dir
    # Gradio's upload route, as a browser would call it, with names no local file could have.
    for name in HOSTILE:
        raw = httpx.post(f"{url}/gradio_api/upload", files=[("files", (name, b"Lighthouse note.", "text/plain"))],
                         timeout=120)
        assert raw.status_code in (200, 400), raw.text  # stored, or refused ('..')
        for path in raw.json() if raw.status_code == 200 else []:
            assert Path(path).resolve().is_relative_to((data_dir / "cache" / "uploads").resolve()), path
    # The page's ingest, with names a local file can have (backslashes, newlines, overrides, a long name).
    local = tmp_path / "drop"
    local.mkdir()
    names = [f"..\\..\\{MARK}-a.txt", f"rtl\u202etxt.{MARK}-b.md", f"new\nline{MARK}-c.txt", f"{MARK}-d-" + "y" * 200 + ".txt"]
    paths = []
    for name in names:
        (local / name).write_text(f"A note called {name!r} about the lighthouse keeper.", encoding="utf-8")
        paths.append(local / name)
    client = Client(url, verbose=False)
    client.predict([handle_file(str(p)) for p in paths], api_name="/ingest")
    assert _escaped(data_dir, local) == []
    files = {d.file for d in hearth.documents.list()}
    assert len(files) == len(names) and all("\u202e" not in f and "\n" not in f and "/" not in f for f in files)
    assert os.environ["GRADIO_TEMP_DIR"] == str(data_dir / "cache" / "uploads")
