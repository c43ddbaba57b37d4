"""The page's source preview: each source under the last answer opens its page as a PDF reader shows it, the
passage highlighted (app.services.preview), or, for Word, HTML, Markdown and text, the passage marked in its
text. Only the visitor's own last turn is offered, so a Spaces visitor sees only their own documents."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from app.hearth import Hearth
from app.web.labels import t
from app.web.session import lang_of, shown_to_user

__all__ = ["SourcePreview", "last_sources"]


def last_sources(session: dict | None) -> list:
    """The sources (rag.store.Hit) of the visitor's last turn."""
    turns = (session or {}).get("turns") or []
    return list(turns[-1].sources) if turns else []


class SourcePreview:
    """The components, built where the page places them, and their handlers."""

    def __init__(self, hearth: Hearth, session: gr.State, L):
        self.hearth = hearth
        with gr.Accordion(L("source_preview"), open=True, elem_id="source-preview"):
            self.pick = gr.Radio(choices=[], show_label=False, elem_id="source-pick")
            self.note = gr.Markdown(elem_id="preview-note")
            self.image = gr.Image(type="filepath", format="png", interactive=False, show_label=False, visible=False,
                                  elem_id="preview-image")
            self.text = gr.HTML(visible=False, elem_id="preview-text")
        self.pick.change(self.show, [self.pick, session], [self.image, self.text, self.note], api_name="preview")

    def refresh(self, session):
        """After a turn (or a new conversation): the choice of its sources, none chosen."""
        choices = [(f"[{i}] {h.file}, p. {h.page}", i - 1) for i, h in enumerate(last_sources(session), 1)]
        return gr.update(choices=choices, value=None)

    def show(self, choice, session, request: gr.Request):
        lang, sources = lang_of(request), last_sources(session)
        if choice is None or not 0 <= int(choice) < len(sources):
            return gr.update(value=None, visible=False), gr.update(value="", visible=False), ""
        hit = sources[int(choice)]
        with shown_to_user():
            found = self.hearth.previews.preview(hit.doc_id, hit.page, chunk=hit.chunk_id,
                                                 collection=session["collection"])
        note = t(lang, "preview_of", file=found.file, page=found.page)
        if not found.marked:
            note += " " + t(lang, "preview_unmarked")
        if found.media_type != "image/png":
            return gr.update(value=None, visible=False), gr.update(value=found.content.decode(), visible=True), note
        return gr.update(value=str(_image_file(session, found.content)), visible=True), gr.update(visible=False), note


def _image_file(session: dict, png: bytes) -> Path:
    """The render as a file for gr.Image, in the visitor's own temporary folder (the one shown before goes)."""
    folder = session.get("previews")
    if folder is None or not Path(folder).is_dir():
        folder = session["previews"] = tempfile.mkdtemp(prefix="hearth-preview-")
    for old in Path(folder).glob("*.png"):
        old.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".png", delete=False) as f:
        f.write(png)
    return Path(f.name)
