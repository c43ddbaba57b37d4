"""The Gradio page. Handlers only translate: unpack inputs, call Hearth, format outputs."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from app.hearth import Hearth
from app.pipeline import Drafting, Finished, Released
from app.present import format_drafting, format_turn

__all__ = ["build_ui"]


def _doc_rows(hearth: Hearth) -> list[list]:
    return [[d.file, d.pages, d.chunks, d.doc_id] for d in hearth.documents()]


def build_ui(hearth: Hearth) -> gr.Blocks:
    """Build the page; nothing is loaded until the first upload or question."""
    guard = hearth.guard_status()

    def ask(question: str, history: list, progress=gr.Progress()):
        question = (question or "").strip()
        if not question:
            yield history, ""
            return
        history = history + [{"role": "user", "content": question},
                             {"role": "assistant", "content": format_drafting(0)}]
        released = ""
        try:
            for event in hearth.pipeline().run(question):
                if isinstance(event, Drafting):
                    history[-1]["content"] = format_drafting(event.tokens, released)
                elif isinstance(event, Released):
                    released = event.text
                    history[-1]["content"] = format_drafting(0, released)
                elif isinstance(event, Finished):
                    history[-1]["content"] = format_turn(event.result)
                else:
                    continue
                yield history, ""
        except ValueError as e:
            raise gr.Error(str(e)) from e

    def ingest(files: list | None, progress=gr.Progress()):
        lines = []
        paths = [Path(f) for f in files or []]
        for i, r in enumerate(hearth.ingest(paths, progress=lambda f, d, t: progress(d / max(t, 1), desc=f))):
            name = Path(r.file).name
            lines.append(f"- ❌ **{name}**: {r.error}" if r.status == "failed"
                         else f"- ✅ **{name}**: {r.status}, {r.pages} pages, {r.chunks} chunks")
            yield "\n".join(lines), _doc_rows(hearth)
        if not lines:
            yield "", _doc_rows(hearth)

    def forget(doc_id: str):
        removed = hearth.forget(doc_id.strip()) if doc_id and doc_id.strip() else []
        note = ", ".join(d.file for d in removed)
        return (f"Removed {note}." if removed else "No document with that id."), _doc_rows(hearth), ""

    with gr.Blocks(title="Hearth", analytics_enabled=False) as demo:
        gr.Markdown("## 🔥 Hearth — private, guarded chat with your documents")
        if guard["warning"]:
            gr.Markdown(f"> ⚠️ **Llama Guard is missing.** {guard['warning']} Guard mode: {guard['mode']}.",
                        elem_id="guard-warning")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=560, sanitize_html=True, elem_id="chat")
                question = gr.Textbox(placeholder="Ask a question about your documents…", show_label=False,
                                      elem_id="question")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    stop = gr.Button("Stop", elem_id="stop")
            with gr.Column(scale=2):
                upload = gr.File(label="Drop PDFs, TXT or Markdown here", file_count="multiple",
                                 file_types=[".pdf", ".txt", ".md", ".markdown"], elem_id="upload")
                ingest_log = gr.Markdown(elem_id="ingest-log")
                docs = gr.Dataframe(headers=["File", "Pages", "Chunks", "Id"], interactive=False, label="Documents",
                                    elem_id="documents")
                with gr.Row():
                    forget_id = gr.Textbox(placeholder="document id", show_label=False, scale=3)
                    forget_btn = gr.Button("Remove", scale=1)
                forget_log = gr.Markdown()

        ask_event = send.click(ask, [question, chatbot], [chatbot, question], api_name="ask",
                               concurrency_id="llm")
        submit_event = question.submit(ask, [question, chatbot], [chatbot, question], api_name=False,
                                       concurrency_id="llm")
        stop.click(None, cancels=[ask_event, submit_event], api_name=False)
        upload.upload(ingest, upload, [ingest_log, docs], api_name="ingest", concurrency_id="ingest")
        forget_btn.click(forget, forget_id, [forget_log, docs, forget_id], api_name="forget")
        demo.load(lambda: _doc_rows(hearth), None, docs, api_name="documents")
    return demo
