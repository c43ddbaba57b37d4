"""The page's Models tab (desktop mode): this machine, what fits and why (the recommended models marked), and
Install (progress, cancel, resume), Use, Use as guard, Remove and Add from a file. Handlers only translate;
the work is app/services/downloads.py, installs.py and advice.py, the same code as `hearth models`."""

from __future__ import annotations

import threading

import gradio as gr

from app.services import advice, downloads, installs
from core.errors import HearthError

__all__ = ["build", "progress_text", "machine_text"]

HEADERS = ["Model", "Kind", "Size", "Installed", "In use", "Fits here", "Why", "Recommended"]


def progress_text(p: downloads.Progress) -> str:
    pct = f" ({100 * p.done / p.total:.0f}%)" if p.total else ""
    eta = f", about {p.eta_s:.0f} s left" if p.eta_s is not None else ""
    return (f"**{p.name}**: {p.done / 2**20:,.0f} of {p.total / 2**20:,.0f} MiB{pct}, "
            f"{p.bytes_per_s / 2**20:.1f} MiB/s{eta}")


def machine_text(facts: dict) -> str:
    gpus = "; ".join(f"{g['name']} ({g['free_gib']} of {g['total_gib']} GiB free)" for g in facts["gpus"]) or "none"
    offload = "yes" if facts["offload"] else "no (this llama.cpp build runs on the CPU only)"
    return (f"**This machine**: {facts['cores']} CPU cores, {facts['ram_bytes'] / 2**30:.0f} GiB RAM; "
            f"GPUs: {gpus}; GPU offload: {offload}")


def _table(rows: list[dict]) -> list[list]:
    return [[r["name"], r["kind"], r["size"], "yes" if r["installed"] else "", r["in_use"] or "",
             "yes" if r["fits"] else "no", r["why"], f"★ {r['recommended_why']}" if r["recommended"] else ""]
            for r in rows]


def build(demo: gr.Blocks, hearth) -> None:
    """The Models tab, built inside the page's tabs (app/web/page.py, desktop mode only)."""
    data_dir = hearth.settings.data_dir
    active: dict[str, threading.Event] = {}  # downloads under way on this machine (shared, like the models folder)

    def refresh(request: gr.Request | None = None):
        lang = request.headers.get("accept-language") if request is not None else None
        rows = advice.model_rows(hearth, lang=lang)
        names = [r["name"] for r in rows if r["kind"] != "embedding"]
        return machine_text(advice.machine(hearth.gpus)), _table(rows), gr.update(choices=names)

    def install(name):
        if not name:
            raise gr.Error("Choose a model first.")
        if name in active:
            yield f"**{name}** is being downloaded already; its progress shows where Install was pressed."
            return
        stop = active[name] = threading.Event()
        state: dict = {"text": f"**{name}**: starting…"}

        def work():
            try:
                state["done"] = installs.install(hearth, name, cancel=stop,
                                                 progress=lambda p: state.update(text=progress_text(p)))
            except HearthError as e:
                state["error"] = str(e)

        worker = threading.Thread(target=work, name=f"hearth-download-{name}", daemon=True)
        worker.start()
        while worker.is_alive():
            yield state["text"]
            worker.join(0.5)
        active.pop(name, None)
        if "error" in state:
            yield state["error"]
            return
        done = state["done"]
        yield (f"**{name}** is installed ({done['path']})" + ("; it checks every turn from now on." if done["in_use"]
                                                             else f"; press Use to switch to it. {done['note']}"))

    def cancel(name):
        if name in active:
            active[name].set()
            return f"Cancelling {name}; what arrived is kept and Install resumes it."
        return "No download of that model is under way."

    def act(fn, done: str):
        def handler(name):
            if not name:
                raise gr.Error("Choose a model first.")
            try:
                result = fn(name)
            except HearthError as e:
                raise gr.Error(str(e)) from e
            return done.format(**{"name": name, **result})
        return handler

    def add(file, as_guard):
        if file is None:
            raise gr.Error("Drop a .gguf file first.")
        try:
            added = installs.add(file if isinstance(file, str) else file.name, data_dir, guard=bool(as_guard))
        except HearthError as e:
            raise gr.Error(str(e)) from e
        return "; ".join(f"added {a['name']} ({a['kind']})" for a in added)

    with gr.Tab("Models", elem_id="models-tab"):
        facts = gr.Markdown(elem_id="models-machine")
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, elem_id="models-table")
        with gr.Row():
            chosen = gr.Dropdown(label="Model", choices=[], allow_custom_value=False, scale=3, elem_id="models-choice")
            install_btn = gr.Button("Install", variant="primary", elem_id="models-install")
            cancel_btn = gr.Button("Cancel", elem_id="models-cancel")
            use_btn = gr.Button("Use", elem_id="models-use")
            remove_btn = gr.Button("Remove", variant="stop", elem_id="models-remove")
        note = gr.Markdown(elem_id="models-progress")
        with gr.Row():
            gguf = gr.File(label="Add a GGUF from this computer (offline)", file_types=[".gguf"], scale=3)
            as_guard = gr.Checkbox(label="It is a guard model", value=False)
            add_btn = gr.Button("Add")
        refresh_btn = gr.Button("Refresh", size="sm")

    outputs = [facts, table, chosen]
    use_model = act(lambda n: installs.use(hearth, n), "Now using {name} as the {kind} model.")
    remove_model = act(lambda n: installs.remove(hearth, n), "Removed {name}.")
    for btn, fn, name in ((use_btn, use_model, "models_use"), (remove_btn, remove_model, "models_remove")):
        btn.click(fn, chosen, note, api_name=name, concurrency_id="llm").then(refresh, None, outputs, api_name=False)
    install_btn.click(install, chosen, note, api_name="models_install", concurrency_limit=None).then(
        refresh, None, outputs, api_name=False)
    cancel_btn.click(cancel, chosen, note, api_name="models_cancel", queue=False)
    add_btn.click(add, [gguf, as_guard], note, api_name="models_add").then(refresh, None, outputs, api_name=False)
    refresh_btn.click(refresh, None, outputs, api_name=False)
    demo.load(refresh, None, outputs, api_name=False)
