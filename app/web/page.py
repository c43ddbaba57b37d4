"""The Gradio page. Handlers only translate: unpack inputs, call Hearth, format outputs.

Per-visitor state (collection, conversation, the Stop flag) lives in one gr.State per session,
created on first use; in Spaces mode its collection is private and deleted when the session ends.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import gradio as gr

from app.hearth import Hearth
from app.services import models
from app.services.guarding import guard_status, set_threshold
from app.services.install_jobs import InstallJobs
from app.turn import CheckDone, Drafting, Finished, Released, TurnResult
from app.web import first_run, models_tab
from app.web.labels import i18n, t
from app.web.present import (conversation_markdown, format_checks, format_drafting, format_ingest, format_plan,
                             format_search, format_status, format_turn)
from app.web.session import end_session as close_session, keep_uploads_in, lang_of as _lang, new_session, \
    shown_to_user
from app.web.sources import SourcePreview

__all__ = ["build_ui", "new_session"]


def _doc_rows(hearth: Hearth, session: dict) -> list[list]:
    return [[d.file, d.pages, d.chunks, time.strftime("%Y-%m-%d %H:%M", time.localtime(d.added_at)), d.doc_id]
            for d in hearth.documents.list(session["collection"])]


def _doc_choices(hearth: Hearth, session: dict) -> list[tuple[str, str]]:
    return [(f"{d.file} ({d.pages} p.)", d.doc_id) for d in hearth.documents.list(session["collection"])]


def _history(session: dict) -> list[tuple[str, str]]:
    return [(t.question, t.answer) for t in session["turns"] if not t.blocked and t.answer]


def build_ui(hearth: Hearth) -> gr.Blocks:
    """Build the page; nothing heavy is loaded here (models warm up in the background)."""
    s = hearth.settings
    uploads = keep_uploads_in(s.data_dir)
    spaces = s.mode == "spaces"
    session_ttl = s.spaces_idle_minutes * 60 if spaces else None

    def ensure(session):
        return session if session else new_session(hearth)

    def end_session(session):
        close_session(hearth, session)

    # -- handlers --------------------------------------------------------------------------

    def ask(question, chat, scope, search_only, temperature, top_k, session, request: gr.Request):
        session, lang = ensure(session), _lang(request)
        question = (question or "").strip()
        if not question:
            raise gr.Error(t(lang, "empty_question"))
        session["stop"].clear()
        chat = list(chat or []) + [{"role": "user", "content": question},
                                   {"role": "assistant", "content": format_drafting(0, lang=lang)}]
        checks, released = [], ""
        pipeline = hearth.pipeline(session["collection"], temperature=temperature, top_k=int(top_k) if top_k else None)
        with shown_to_user():
            for event in pipeline.run(question, history=_history(session), doc_ids=scope or None,
                                      stop=session["stop"], search_only=bool(search_only)):
                if isinstance(event, CheckDone):
                    checks.append(event.check)
                elif isinstance(event, Drafting):
                    chat[-1]["content"] = format_drafting(event.tokens, released, lang)
                elif isinstance(event, Released):
                    released = event.text
                    chat[-1]["content"] = format_drafting(0, released, lang)
                elif isinstance(event, Finished):
                    result: TurnResult = event.result
                    session["turns"].append(result)
                    chat[-1]["content"] = (format_search if search_only else format_turn)(result, lang)
                else:
                    continue
                yield chat, "", format_checks(checks, lang), session

    def stop(session):
        if session:
            session["stop"].set()
        return session

    def ingest(files, session, request: gr.Request, progress=gr.Progress()):
        session, lang = ensure(session), _lang(request)
        paths = [Path(f) for f in files or []]
        results = []
        n = max(len(paths), 1)

        def report(file, done, total):
            progress((len(results) + done / max(total, 1)) / n, desc=f"{file}: {done}/{total}")

        with shown_to_user():
            ingested = hearth.documents.ingest(paths, collection=session["collection"], progress=report)
        for r in ingested:
            results.append(r)  # searchable now, while the rest of the batch goes on
            choices = _doc_choices(hearth, session)
            yield (format_ingest(results, lang), _doc_rows(hearth, session), gr.update(choices=choices),
                   gr.update(choices=choices), session)
        if not results:
            yield "", _doc_rows(hearth, session), gr.update(), gr.update(), session

    def documents(session):
        session = ensure(session)
        choices = _doc_choices(hearth, session)
        return _doc_rows(hearth, session), gr.update(choices=choices), gr.update(choices=choices), session

    def forget(doc_ids, session, request: gr.Request):
        session, lang = ensure(session), _lang(request)
        if not doc_ids:
            raise gr.Error(t(lang, "choose_to_remove"))
        removed = [d for key in doc_ids for d in hearth.documents.forget(key, collection=session["collection"])]
        note = t(lang, "removed", files=", ".join(d.file for d in removed)) if removed else t(lang, "no_such_document")
        rows, scope, remove, session = documents(session)
        return note, rows, scope, gr.update(choices=remove["choices"], value=[]), session

    def choose_collection(name, session):
        session = ensure(session)
        with shown_to_user():
            name = hearth.documents.choose(name)
        session.update(collection=name, turns=[])
        rows, scope, remove, session = documents(session)
        return gr.update(choices=hearth.documents.collections(), value=name), rows, scope, remove, [], session

    def export(session, request: gr.Request):
        session = ensure(session)
        if not session["turns"]:
            raise gr.Error(t(_lang(request), "nothing_to_export"))
        folder = Path(tempfile.mkdtemp(prefix="export-", dir=uploads))  # served from Gradio's folder, in the data dir
        path = folder / f"hearth-conversation-{time.strftime('%Y%m%d-%H%M%S')}.md"
        path.write_text(conversation_markdown(session["turns"]), encoding="utf-8")
        return str(path)

    def clear(session):
        session = ensure(session)
        session["turns"] = []
        return [], "", session

    def apply_model(model, gpu_layers, request: gr.Request):
        gpu_layers = (gpu_layers or "").strip()
        if gpu_layers and not gpu_layers.lstrip("-").isdigit():
            raise gr.Error(t(_lang(request), "bad_gpu_layers", value=gpu_layers))
        with shown_to_user():
            info = hearth.chat.switch(model or None, n_gpu_layers=int(gpu_layers) if gpu_layers else None)
        return format_plan(info["offload"], Path(info["model"]).name)

    def apply_threshold(threshold, request: gr.Request):
        with shown_to_user():
            value = set_threshold(hearth.llama_guard, threshold)
        return t(_lang(request), "threshold_set", value=value)

    def blocked_rows():
        return [[e.get("time", ""), e.get("stage", ""), e.get("layer", ""), ", ".join(e.get("categories") or []),
                 e.get("score"), e.get("reason", "")] for e in hearth.audit_log.entries(50)]

    def word_rows():
        return [[cat, term] for cat, terms in hearth.words.lists().items() for term in terms]

    def edit_words(edit):
        def handler(category, term):
            with shown_to_user():
                edit(category, term)
            return word_rows(), ""
        return handler

    def status_text(lang: str = "en") -> str:
        warm = hearth.warmup.state()
        if not warm["done"] or warm["error"]:
            return format_status(warm, lang=lang)
        guard = guard_status(hearth.llama_guard)
        return format_status(warm, model=hearth.chat_model.name, offload=hearth.chat.offload.reason,
                             guard_mode=guard["mode"] if guard["warning"] else "", lang=lang)

    def status(request: gr.Request):
        return status_text(_lang(request)), gr.Timer(active=not hearth.warmup.state()["done"])

    # -- layout ----------------------------------------------------------------------------

    L = i18n()
    with gr.Blocks(title="Hearth", analytics_enabled=False, delete_cache=(600, 3600) if spaces else None) as demo:
        session = gr.State(None, time_to_live=session_ttl, delete_callback=end_session)
        gr.Markdown(L("title"))
        jobs = None if spaces else InstallJobs(hearth)  # downloads under way, seen from every page
        installed = first_run.build(demo, hearth, jobs)  # the guard-missing warning, with Install in desktop mode
        warm = gr.Markdown(status_text(), elem_id="status")
        timer = gr.Timer(1.0)
        with gr.Tabs():
            with gr.Tab(L("tab_chat")):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label=L("chat"), height=560, sanitize_html=True, elem_id="chat",
                                             render_markdown=True)
                        question = gr.Textbox(placeholder=L("ask_placeholder"), show_label=False, elem_id="question")
                        with gr.Row():
                            send = gr.Button(L("ask"), variant="primary", elem_id="ask")
                            stop_btn = gr.Button(L("stop"), elem_id="stop")
                            clear_btn = gr.Button(L("new_chat"), elem_id="clear")
                            export_btn = gr.Button(L("export"), elem_id="export")
                        export_file = gr.File(label=L("export_file"), interactive=False, elem_id="export-file")
                        sources = SourcePreview(hearth, session, L)
                    with gr.Column(scale=2):
                        scope = gr.Dropdown(label=L("scope"), multiselect=True, choices=[], elem_id="scope")
                        search_only = gr.Checkbox(label=L("search_only"), value=False, elem_id="search-only")
                        checks = gr.Markdown(label=L("checks"), elem_id="checks")
                        upload = gr.File(label=L("drop"), file_count="multiple", elem_id="upload",
                                         file_types=[".pdf", ".txt", ".md", ".markdown"])
                        ingest_log = gr.Markdown(elem_id="ingest-log")
            with gr.Tab(L("tab_documents")):
                if not spaces:
                    collection = gr.Dropdown(label=L("collection"), choices=hearth.documents.collections(),
                                             value=s.collection, allow_custom_value=True, elem_id="collection")
                docs = gr.Dataframe(headers=["File", "Pages", "Chunks", "Added", "Id"], interactive=False,
                                    label=L("documents"), elem_id="documents")
                with gr.Row():
                    to_remove = gr.Dropdown(label=L("remove_choose"), multiselect=True, choices=[], scale=3)
                    remove_btn = gr.Button(L("remove"), scale=1, variant="stop")
                forget_log = gr.Markdown()
            with gr.Tab(L("tab_settings")):
                with gr.Row():
                    temperature = gr.Slider(0.0, 2.0, value=s.temperature, step=0.05, label=L("temperature"))
                    top_k = gr.Slider(1, 20, value=s.top_k, step=1, label=L("top_k"))
                if not spaces:
                    with gr.Group():
                        with gr.Row():
                            model = gr.Dropdown(label=L("model"), allow_custom_value=True,
                                                choices=[m.name for m in models.chat_models()
                                                         if models.installed_path(m, s.data_dir)],
                                                value=None, elem_id="model")
                            gpu_layers = gr.Textbox(label=L("gpu_layers"), value="" if s.n_gpu_layers is None
                                                    else str(s.n_gpu_layers), elem_id="gpu-layers")
                            apply_btn = gr.Button(L("apply"))
                        model_note = gr.Markdown()
                    with gr.Row():
                        threshold = gr.Slider(0.0, 1.0, value=s.guard_threshold, step=0.01, label=L("threshold"))
                        threshold_btn = gr.Button(L("apply"))
                    threshold_note = gr.Markdown()
                    gr.Markdown(L("words_help"))
                    with gr.Row():
                        word_category = gr.Textbox(label=L("word_list"), value="custom", elem_id="word-category")
                        word_term = gr.Textbox(label=L("word_term"), elem_id="word-term")
                        add_btn = gr.Button(L("add"))
                        del_btn = gr.Button(L("remove"))
                    words = gr.Dataframe(headers=["List", "Term"], value=word_rows, interactive=False,
                                         label=L("word_lists"))
                    blocked = gr.Dataframe(headers=["Time", "Stage", "Layer", "Categories", "Score", "Why"],
                                           value=blocked_rows, interactive=False, label=L("blocked_turns"),
                                           elem_id="blocked-turns")
                    blocked_btn = gr.Button(L("refresh"))
            if not spaces:
                models_tab.build(demo, hearth, jobs)  # install, use and remove models (app/web/models_tab.py)

        # -- events ------------------------------------------------------------------------
        ask_inputs = [question, chatbot, scope, search_only, temperature, top_k, session]
        ask_outputs = [chatbot, question, checks, session]
        for asked in (send.click(ask, ask_inputs, ask_outputs, api_name="ask", concurrency_id="llm"),
                      question.submit(ask, ask_inputs, ask_outputs, api_name=False, concurrency_id="llm")):
            asked.then(sources.refresh, session, sources.pick, api_name=False, queue=False)
        stop_btn.click(stop, session, session, api_name="stop", queue=False)
        clear_btn.click(clear, session, [chatbot, checks, session], api_name="clear").then(
            sources.refresh, session, sources.pick, api_name=False, queue=False)
        export_btn.click(export, session, export_file, api_name="export")
        upload.upload(ingest, [upload, session], [ingest_log, docs, scope, to_remove, session], api_name="ingest",
                      concurrency_id="ingest")
        remove_btn.click(forget, [to_remove, session], [forget_log, docs, scope, to_remove, session],
                         api_name="forget")
        demo.load(documents, session, [docs, scope, to_remove, session], api_name="documents")
        timer.tick(status, None, [warm, timer], api_name=False, queue=False)
        for event in installed:  # a guard or chat model switched in: the status line says so
            event.then(status, None, [warm, timer], api_name=False, queue=False)
        if not spaces:
            collection.change(choose_collection, [collection, session],
                              [collection, docs, scope, to_remove, chatbot, session], api_name="collection").then(
                sources.refresh, session, sources.pick, api_name=False, queue=False)
            apply_btn.click(apply_model, [model, gpu_layers], model_note, api_name="model", concurrency_id="llm")
            threshold_btn.click(apply_threshold, threshold, threshold_note, api_name="threshold")
            add_btn.click(edit_words(hearth.words.add), [word_category, word_term], [words, word_term], api_name="add_word")
            del_btn.click(edit_words(hearth.words.remove), [word_category, word_term], [words, word_term], api_name="remove_word")
            blocked_btn.click(blocked_rows, None, blocked, api_name="blocked")
    return demo
