"""The first-run banner at the top of every page. While no guard model checks the turns it warns so; in desktop
mode it carries a button that installs Llama Guard 3 1B (progress: bytes, speed, time left; cancel), switched in
without a restart, and beside it the chat model recommended for this machine, offered the same way while the
embedded SmolLM2-135M answers. In Spaces mode it only says what is loaded. Handlers only translate; the work is
app/services/first_run.py and install_jobs.py, the same code as `hearth models pull`."""

from __future__ import annotations

import gradio as gr

from app.services import first_run
from app.services.guarding import guard_configured
from app.services.install_jobs import InstallJobs
from app.web.labels import i18n, t
from app.web.models_tab import job_text
from app.web.session import lang_of, shown_to_user

__all__ = ["build"]


def build(demo: gr.Blocks, hearth, jobs: InstallJobs | None) -> list:
    """The banner, built where the page puts it; returns the events after which the page refreshes its status
    (none in Spaces mode, where jobs is None and nothing is installed from the page)."""
    s, L = hearth.settings, i18n()
    missing = not guard_configured(s)
    if jobs is None:
        if missing:
            gr.Markdown(L("guard_missing"), elem_id="guard-warning")
            gr.Markdown(L("guard_missing_how"))
        return []

    def refresh(request: gr.Request = None):
        lang, offer = lang_of(request), first_run.offers(hearth)
        guard, chat = offer["guard"] is not None, offer["chat"]
        return (gr.update(visible=guard), gr.update(visible=guard and offer["strict"]), gr.update(visible=guard),
                gr.update(visible=chat is not None, value=t(lang, "chat_offer", **chat) if chat else ""),
                gr.update(visible=chat is not None, value=t(lang, "install_chat", **chat) if chat else ""),
                gr.update(visible=guard or chat is not None))

    def install(kind: str):
        def handler(request: gr.Request = None):
            lang = lang_of(request)
            with shown_to_user():
                job = first_run.start(hearth, jobs, kind)
            for job in jobs.watch(job):
                yield job_text(job, lang)
        return handler

    def cancel(request: gr.Request = None):
        if not jobs.cancel():
            gr.Info(t(lang_of(request), "nothing_to_cancel"))

    with gr.Column(elem_id="first-run"):
        with gr.Column(visible=missing) as guard_box:
            gr.Markdown(L("guard_missing"), elem_id="guard-warning")
            gr.Markdown(L("guard_install_help"))
        strict = gr.Markdown(L("guard_strict"), visible=missing and s.require_llama_guard)
        chat_note = gr.Markdown(visible=False, elem_id="chat-offer")
        with gr.Row(visible=missing) as buttons:
            guard_btn = gr.Button(L("install_guard"), variant="primary", visible=missing, elem_id="install-guard")
            chat_btn = gr.Button(visible=False, elem_id="install-chat")
            cancel_btn = gr.Button(L("cancel_download"), elem_id="install-cancel")
        guard_progress = gr.Markdown(elem_id="install-guard-progress")
        chat_progress = gr.Markdown(elem_id="install-chat-progress")

    outputs = [guard_box, strict, guard_btn, chat_note, chat_btn, buttons]
    done = []
    for btn, kind, progress in ((guard_btn, "guard", guard_progress), (chat_btn, "chat", chat_progress)):
        done.append(btn.click(install(kind), None, progress, api_name=f"install_{kind}", concurrency_limit=None)
                    .then(refresh, None, outputs, api_name=False))
    cancel_btn.click(cancel, None, None, api_name="cancel_install")  # queued: gr.Info needs the queue
    demo.load(refresh, None, outputs, api_name=False)  # what is installed may have changed since the page was built
    return done
