"""What this machine runs: its cores, memory and GPUs, and for each model whether it fits and why, with the
recommended chat and guard models marked (the page's Models tab; the same facts as `hearth doctor`)."""

from __future__ import annotations

import os

from app.services import models
from app.services.guarding import has_chinese, recommend_guard
from engine import gpu_offload_supported, plan_offload
from engine.gpu import RESERVE_BYTES, kv_cache_bytes

__all__ = ["machine", "fit", "model_rows", "ram_bytes", "recommended_chat"]

GiB = 2**30


def ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def machine(gpus: list) -> dict:
    return {"cores": os.cpu_count() or 1, "ram_bytes": ram_bytes(), "offload": bool(gpu_offload_supported()),
            "gpus": [g.to_dict() for g in gpus]}


def fit(spec: models.ModelSpec, *, ram: int, free_vram: int | None, offload: bool, n_ctx: int) -> tuple[bool, str]:
    """Whether a model runs here and why: wholly or partly on the GPU (layers that fit), else in RAM."""
    if spec.kind == "embedding":
        return True, "embedded, runs on the CPU"
    size = spec.size_bytes
    if spec.shape and offload and free_vram:
        shape = spec.model_shape()
        plan = plan_offload(shape, n_ctx=n_ctx, free_vram_bytes=free_vram, gpu_supported=True)
        if plan.full:
            return True, f"GPU, fast: {plan.reason}"
        if plan.n_gpu_layers:
            ok = size + kv_cache_bytes(shape, n_ctx) <= ram + free_vram
            return ok, f"GPU and CPU, medium: {plan.reason}"
    need = size + (kv_cache_bytes(spec.model_shape(), n_ctx) if spec.shape else 0) + RESERVE_BYTES
    if ram and need > ram * 0.8:
        return False, f"too large: needs about {need / GiB:.1f} GiB of the {ram / GiB:.0f} GiB RAM"
    speed = "fast" if size < 0.5 * 10**9 else "usable" if size < 2.5 * 10**9 else "slow"
    return True, f"CPU, {speed}: {size / 10**9:.1f} GB in {ram / GiB:.0f} GiB RAM"


def recommended_chat(hearth, facts: dict | None = None) -> dict:
    """The chat model recommended for this machine, and why (models.recommend_chat_model on its facts)."""
    facts = facts or machine(hearth.gpus)
    free = max((g.free_bytes for g in hearth.gpus), default=None)
    return models.recommend_chat_model(free_vram_bytes=free if facts["offload"] else None,
                                       ram_bytes=facts["ram_bytes"], cores=facts["cores"], n_ctx=hearth.settings.n_ctx)


def model_rows(hearth, *, lang: str | None = None) -> list[dict]:
    """Every known and added model with its fit, whether it is installed or in use, and the recommended ones."""
    from app.services.installs import catalog, in_use

    s, gpus = hearth.settings, hearth.gpus
    facts = machine(gpus)
    free = max((g.free_bytes for g in gpus), default=None)
    chat = recommended_chat(hearth, facts)
    docs = hearth.documents.list()
    guard = recommend_guard(lang, any(has_chinese(f"{d.file} {d.identity}") for d in docs))
    rows = []
    for row in catalog(s.data_dir, in_use(hearth)):
        spec = models.find_model(row["name"], s.data_dir)
        ok, why = fit(spec, ram=facts["ram_bytes"], free_vram=free, offload=facts["offload"], n_ctx=s.n_ctx)
        recommended = {"chat": chat, "guard": guard}.get(row["kind"], {})
        rows.append({**row, "fits": ok, "why": why, "recommended": recommended.get("name") == row["name"],
                     "recommended_why": recommended.get("reason", "") if recommended.get("name") == row["name"]
                     else ""})
    return rows
