"""The page's Models tab (desktop mode): this machine, what fits and why (the recommended models marked), and
Install (progress, cancel, resume), Use, Use as guard, Remove and Add from a file. Handlers only translate;
the work is app/services/install_jobs.py, installs.py and advice.py, the same code as `hearth models`."""

from __future__ import annotations

import gradio as gr

from app.services import advice, downloads, installs
from app.services.install_jobs import InstallJob, InstallJobs
from app.web.labels import i18n, t
from app.web.session import lang_of, shown_to_user

__all__ = ["build", "progress_text", "machine_text", "job_text", "HEADERS"]

HEADERS = ("h_model", "h_kind", "h_size", "h_installed", "h_in_use", "h_fits", "h_why", "h_recommended")


def progress_text(p: downloads.Progress, lang: str = "en") -> str:
    pct = f" ({100 * p.done / p.total:.0f}%)" if p.total else ""
    eta = t(lang, "eta", s=p.eta_s) if p.eta_s is not None else ""
    return t(lang, "progress", name=p.name, done=p.done / 2**20, total=p.total / 2**20, pct=pct,
             speed=p.bytes_per_s / 2**20, eta=eta)


def job_text(job: InstallJob, lang: str = "en") -> str:
    """Where a download stands, or how it ended (with the fix when it failed)."""
    if job.error:
        return f"{'⏸' if job.cancel.is_set() else '⛔'} {job.error}"
    if job.result is None:
        return progress_text(job.progress, lang) if job.progress else t(lang, "install_starting", name=job.name)
    done = job.result
    if done["in_use"]:
        return t(lang, f"installed_{done['in_use']}", name=job.name)
    if done["note"]:
        return t(lang, "installed_refused", name=job.name, note=done["note"])
    return t(lang, "installed_unused", name=job.name, path=done["path"])


def machine_text(facts: dict, lang: str = "en") -> str:
    gpus = "; ".join(t(lang, "gpu_free", name=g["name"], free=g["free_gib"], total=g["total_gib"])
                     for g in facts["gpus"]) or t(lang, "none")
    return t(lang, "machine", cores=facts["cores"], ram=facts["ram_bytes"] / 2**30, gpus=gpus,
             offload=t(lang, "yes") if facts["offload"] else t(lang, "offload_no"))


def _table(rows: list[dict], lang: str) -> dict:
    yes, no = t(lang, "yes"), t(lang, "no")
    data = [[r["name"], t(lang, f"kind_{r['kind']}"), r["size"], yes if r["installed"] else "",
             t(lang, f"kind_{r['in_use']}") if r["in_use"] else "", yes if r["fits"] else no, r["why"],
             f"★ {r['recommended_why']}" if r["recommended"] else ""] for r in rows]
    return {"headers": [t(lang, h) for h in HEADERS], "data": data}


def build(demo: gr.Blocks, hearth, jobs: InstallJobs) -> None:
    """The Models tab, built inside the page's tabs (app/web/page.py, desktop mode only)."""
    data_dir = hearth.settings.data_dir
    L = i18n()

    def refresh(request: gr.Request | None = None):
        lang = lang_of(request)
        rows = advice.model_rows(hearth, lang=request.headers.get("accept-language") if request else None)
        names = [r["name"] for r in rows if r["kind"] != "embedding"]
        return machine_text(advice.machine(hearth.gpus), lang), _table(rows, lang), gr.update(choices=names)

    def install(name, request: gr.Request = None):
        lang = lang_of(request)
        if not name:
            raise gr.Error(t(lang, "choose_model"))
        job, _ = jobs.start(name)  # a download of it under way elsewhere is watched here too
        for job in jobs.watch(job):
            yield job_text(job, lang)

    def cancel(name, request: gr.Request = None):
        lang = lang_of(request)
        cancelled = jobs.cancel(name) if name else []
        return t(lang, "cancelling", names=", ".join(cancelled)) if cancelled else t(lang, "nothing_to_cancel")

    def act(fn, done: str):
        def handler(name, request: gr.Request = None):
            lang = lang_of(request)
            if not name:
                raise gr.Error(t(lang, "choose_model"))
            with shown_to_user():
                result = fn(name)
            return t(lang, done, **{"name": name, **result, "kind": t(lang, f"kind_{result.get('kind', 'chat')}"),
                                    "files": name})
        return handler

    def add(file, as_guard, request: gr.Request = None):
        lang = lang_of(request)
        if file is None:
            raise gr.Error(t(lang, "drop_gguf"))
        with shown_to_user():
            added = installs.add(file if isinstance(file, str) else file.name, data_dir, guard=bool(as_guard))
        return "; ".join(t(lang, "added", name=a["name"], kind=t(lang, f"kind_{a['kind']}")) for a in added)

    with gr.Tab(L("tab_models"), elem_id="models-tab"):
        facts = gr.Markdown(elem_id="models-machine")
        table = gr.Dataframe(headers=[t("en", h) for h in HEADERS], interactive=False, wrap=True,
                             elem_id="models-table")
        with gr.Row():
            chosen = gr.Dropdown(label=L("model_choice"), choices=[], allow_custom_value=False, scale=3,
                                 elem_id="models-choice")
            install_btn = gr.Button(L("install"), variant="primary", elem_id="models-install")
            cancel_btn = gr.Button(L("cancel"), elem_id="models-cancel")
            use_btn = gr.Button(L("use"), elem_id="models-use")
            remove_btn = gr.Button(L("remove"), variant="stop", elem_id="models-remove")
        note = gr.Markdown(elem_id="models-progress")
        with gr.Row():
            gguf = gr.File(label=L("add_gguf"), file_types=[".gguf"], scale=3)
            as_guard = gr.Checkbox(label=L("is_guard"), value=False)
            add_btn = gr.Button(L("add"))
        refresh_btn = gr.Button(L("refresh"), size="sm")

    outputs = [facts, table, chosen]
    use_model = act(lambda n: installs.use(hearth, n), "now_using")
    remove_model = act(lambda n: installs.remove(hearth, n), "removed")
    for btn, fn, name in ((use_btn, use_model, "models_use"), (remove_btn, remove_model, "models_remove")):
        btn.click(fn, chosen, note, api_name=name, concurrency_id="llm").then(refresh, None, outputs, api_name=False)
    install_btn.click(install, chosen, note, api_name="models_install", concurrency_limit=None).then(
        refresh, None, outputs, api_name=False)
    cancel_btn.click(cancel, chosen, note, api_name="models_cancel", queue=False)
    add_btn.click(add, [gguf, as_guard], note, api_name="models_add").then(refresh, None, outputs, api_name=False)
    refresh_btn.click(refresh, None, outputs, api_name=False)
    demo.load(refresh, None, outputs, api_name=False)
