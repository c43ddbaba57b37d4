"""What every handler of the page stands on: a visitor's session, their language, and Hearth's errors shown as
the page's error message."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from app.hearth import Hearth
from app.web.labels import lang_from
from core.errors import HearthError

__all__ = ["new_session", "end_session", "shown_to_user", "lang_of", "keep_uploads_in"]

_CHOSEN: dict[str, str] = {}  # the upload folder this module chose (a later Hearth in the process may move it)


def keep_uploads_in(data_dir: Path) -> Path:
    """Files dropped on the page (and what Gradio caches) go to <data dir>/cache/uploads, never outside the data
    dir: Gradio reads the folder from GRADIO_TEMP_DIR when the page is built. A folder the user set is kept."""
    folder = data_dir / "cache" / "uploads"
    chosen = os.environ.get("GRADIO_TEMP_DIR")
    if chosen and chosen != _CHOSEN.get("dir"):
        return Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = _CHOSEN["dir"] = str(folder)
    return folder


def new_session(hearth: Hearth) -> dict:
    """What one visitor's page remembers. In Spaces mode the collection is a private, unguessable name."""
    private = hearth.settings.mode == "spaces"
    collection = f"visitor-{secrets.token_hex(16)}" if private else hearth.settings.collection
    return {"collection": collection, "private": private, "turns": [], "stop": threading.Event()}


def end_session(hearth: Hearth, session: dict | None) -> None:
    """What a visitor leaves when their session ends goes: a Spaces visitor's documents, and the page previews
    rendered for them (app/web/sources.py)."""
    if not session:
        return
    if session.get("private"):
        hearth.documents.drop(session["collection"])
    if session.get("previews"):
        shutil.rmtree(session["previews"], ignore_errors=True)


@contextmanager
def shown_to_user():
    """Hearth's errors (core/errors.py) become the page's error message; theirs names the fix."""
    try:
        yield
    except HearthError as e:
        raise gr.Error(str(e)) from e


def lang_of(request: gr.Request | None) -> str:
    return lang_from(request.headers.get("accept-language") if request is not None else None)
