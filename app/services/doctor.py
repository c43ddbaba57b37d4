"""`hearth doctor`: what Hearth found on this machine, and what is wrong with it."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Mapping

from app import __version__
from app.hearth import Hearth
from app.services import models
from app.services.advice import ram_bytes
from app.services.guarding import guard_offload, guard_path, guard_status, has_chinese, recommend_guard
from app.settings import unknown_settings
from core.errors import ModelNotFoundError
from engine import amx_repack_off, cpu_has_amx
from guard import fastscan

__all__ = ["doctor_report", "format_report", "embedding_backend_problem"]


def _model_info(path: Path | None) -> dict:
    if path is None:
        return {"path": None, "found": False}
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else (
        path.stat().st_size if path.exists() else 0)
    return {"path": str(path), "found": path.exists(), "size_mb": round(size / 2**20, 1)}


def _guard_plan(hearth: Hearth) -> dict | None:
    """Where an in-process guard model goes (the plan open_guard follows), read from its GGUF without loading it."""
    path = guard_path(hearth.settings)
    if hearth.settings.guard_url or path is None or not Path(path).is_file():
        return None
    return guard_offload(Path(path), hearth.settings, hearth.chat, hearth.gpus).to_dict()


def embedding_backend_problem(backend: str, n_gpu_layers: int) -> str | None:
    """torch embeddings beside a CUDA llama.cpp crashed in one process (shared/gpu/README.md)."""
    if backend == "torch" and n_gpu_layers != 0:
        return ("HEARTH_EMBEDDING_BACKEND=torch while the chat model runs on the GPU: a CUDA build of llama.cpp "
                "and torch crashed together in one process; set HEARTH_EMBEDDING_BACKEND=auto (or numpy).")
    return None


def doctor_report(hearth: Hearth, environ: Mapping[str, str] | None = None) -> dict:
    """What `hearth doctor` reports; environ: the variables Hearth was started with (HEARTH_* typos are named)."""
    import llama_cpp

    s = hearth.settings
    problems = []
    try:
        chat = _model_info(hearth.chat.path)
    except ModelNotFoundError as e:
        chat, problems = {"path": None, "found": False}, problems + [str(e)]
    try:
        embed = _model_info(hearth.embedding_model_path)
    except ModelNotFoundError as e:
        embed, problems = {"path": None, "found": False}, problems + [str(e)]
    guard = guard_status(hearth.llama_guard)
    if guard["warning"]:
        problems.append(guard["warning"])
    problems += unknown_settings(environ or {})
    docs = hearth.documents.list()
    lang = (environ or {}).get("LC_ALL") or (environ or {}).get("LANG")
    offload = hearth.chat.offload
    clash = embedding_backend_problem(hearth.embedding_backend, offload.n_gpu_layers)
    if clash:
        problems.append(clash)
    return {
        "hearth": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "llama_cpp_python": llama_cpp.__version__,
        "data_dir": str(s.data_dir),
        "collection": s.collection,
        "documents": len(docs),
        "chat_model": chat,
        "embedding_model": embed,
        "guard": guard,
        "gpu": {"offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
                "n_gpu_layers": offload.n_gpu_layers, "offload": offload.to_dict(),
                "guard_offload": _guard_plan(hearth), "devices": [g.to_dict() for g in hearth.gpus]},
        "threads": hearth.chat.budget.to_dict(),
        "embedding_backend": hearth.embedding_backend,
        "keyword_scanner": "compiled" if fastscan.built() else "numpy",
        "llama_amx_repack": "off" if amx_repack_off(s.llama_amx) else ("on" if cpu_has_amx() else "no amx"),
        "recommended_model": models.recommend_chat_model(
            free_vram_bytes=max((g.free_bytes for g in hearth.gpus), default=None),
            ram_bytes=ram_bytes(), cores=os.cpu_count() or 1, n_ctx=s.n_ctx),
        "recommended_guard": recommend_guard(lang, any(has_chinese(f"{d.file} {d.identity}") for d in docs)),
        "cpu_count": os.cpu_count(),
        "bind": f"{s.host}:{s.port}",
        "telemetry": "off (gradio, chromadb, huggingface_hub)",
        "problems": problems,
    }


def index_report(hearth: Hearth) -> dict:
    """Every collection's agreement of catalog, vector index and keyword index (rag Library.verify), repaired;
    the caller makes sure no other Hearth writes to the data dir meanwhile."""
    out = {}
    for collection in hearth.catalog.collections():
        library = hearth.documents.library(collection)
        problems = library.verify()
        out[collection] = {"documents": len(library.documents()), "problems": problems}
    return out


def format_index(report: dict) -> str:
    lines = []
    for collection, r in report.items():
        state = "all agree" if not r["problems"] else f"{len(r['problems'])} problem(s) found and repaired"
        lines.append(f"index {collection!r}: {r['documents']} documents, {state}")
        lines += [f"  - {p}" for p in r["problems"]]
    return "\n".join(lines) or "index: no documents yet"


def format_report(r: dict) -> str:
    ok = lambda b: "ok" if b else "MISSING"  # noqa: E731
    lines = [
        f"Hearth {r['hearth']}  (Python {r['python']}, llama-cpp-python {r['llama_cpp_python']})",
        f"data dir      {r['data_dir']}  (collection {r['collection']!r}: {r['documents']} documents)",
        f"chat model    {ok(r['chat_model']['found'])}  {r['chat_model']['path']}",
        f"embeddings    {ok(r['embedding_model']['found'])}  {r['embedding_model']['path']}",
        f"llama guard   {r['guard']['status'].upper()}  {r['guard']['path'] or ''}",
        f"guard mode    {r['guard']['mode']}",
        f"gpu           " + ("; ".join(f"{d['name']} ({d['free_gib']} of {d['total_gib']} GiB free)"
                                       for d in r["gpu"]["devices"]) or "none found"),
        f"gpu offload   {'supported' if r['gpu']['offload_supported'] else 'not in this llama.cpp build'}"
        f"  (n_gpu_layers {r['gpu']['n_gpu_layers']}: {r['gpu']['offload']['reason']})"
        + (f"; guard: {r['gpu']['guard_offload']['reason']}" if r["gpu"]["guard_offload"] else ""),
        f"threads       chat {r['threads']['chat_threads']}, embedder/guard {r['threads']['cpu_threads']} "
        f"of {r['cpu_count']} cores" + (" (taking turns)" if r["threads"]["shared_lock"] else " (in parallel)"),
        f"embeddings    backend {r['embedding_backend']}",
        f"llama.cpp amx " + {"off": "repacking off: this CPU has AMX, on which llama.cpp's AMX buffers crashed "
                                    "(engine/llamacpp.py; HEARTH_LLAMA_AMX=true turns it on)",
                             "on": "repacking on (HEARTH_LLAMA_AMX=true)",
                             "no amx": "not on this CPU"}[r["llama_amx_repack"]],
        f"keyword scan  " + ("compiled (guard/_fastscan.c)" if r["keyword_scanner"] == "compiled" else
                             "numpy: the fast scanner is not built (same answers, slower; reinstall with a C "
                             "compiler: pip install -e .)"),
        f"recommended   {r['recommended_model']['name']} on the {r['recommended_model']['where'].upper()}: "
        f"{r['recommended_model']['reason']}",
        f"guard advice  {r['recommended_guard']['name']}: {r['recommended_guard']['reason']}",
        f"web page      http://{r['bind']}",
        f"telemetry     {r['telemetry']}",
    ]
    if r["problems"]:
        lines += ["", "Problems:"] + [f"  - {p}" for p in r["problems"]]
    return "\n".join(lines)
