"""The guard as the user meets it: which Llama Guard (in-process, on a server, or missing), whether it is
installed, its threshold; built from Settings by Hearth."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from app.services import models
from core.errors import GuardModelError, InputError
from engine import OffloadPlan, plan_for
from guard import LlamaGuard, MissingGuard
from guard.guard_formats import FORMATS

__all__ = ["GUARD_MISSING", "open_guard", "guard_status", "guard_configured", "set_threshold", "switch_guard",
           "recommend_guard", "has_chinese", "guard_offload", "guard_path"]

GUARD_MISSING = ("No Llama Guard model is installed, so turns are checked by the keyword filter only. "
                 "Run `hearth models pull llama-guard-3-1b` (needs internet) or set HEARTH_GUARD_MODEL.")


def guard_path(settings) -> Path | None:
    s = settings
    return s.guard_model or models.chosen(s.data_dir, "guard") or models.installed_guard(s.data_dir)


def guard_configured(settings) -> bool:
    """Whether a Llama Guard model is set or installed, without loading it (for a fast first page)."""
    path = guard_path(settings)
    return path is not None and Path(path).is_file()


def open_guard(settings, *, chat, gpus, compute_lock):
    """The Llama Guard layer the settings ask for: on a server, in-process (loaded now, so that a model that is
    not Llama Guard is found at once), or missing (strict or not)."""
    s = settings
    if s.guard_url:
        from guard.remote_guard import RemoteLlamaGuard

        return RemoteLlamaGuard(s.guard_url, api_key=s.guard_api_key, model=s.guard_url_model)
    path = guard_path(s)
    if path is None:
        return MissingGuard(GUARD_MISSING, strict=s.require_llama_guard)
    on_gpu = guard_offload(Path(path), s, chat, gpus)
    guard = LlamaGuard(Path(path), threshold=s.guard_threshold, timeout_s=s.guard_timeout,
                       n_threads=chat.budget.cpu_threads, n_gpu_layers=on_gpu.n_gpu_layers,
                       lock=threading.Lock() if on_gpu.full else compute_lock, amx=s.llama_amx,
                       variant=None if s.guard_format == "auto" else s.guard_format)
    try:
        guard.load()
    except GuardModelError as e:
        return MissingGuard(f"The configured guard model cannot be used: {e}", strict=s.require_llama_guard)
    return guard


def guard_offload(path: Path, settings, chat, gpus) -> OffloadPlan:
    """The guard goes on the GPU in what the chat model leaves free, and stays on the CPU when the chat model does."""
    from engine import vram_bytes

    if chat.offload.n_gpu_layers == 0:
        return OffloadPlan(0, 0, 0, "CPU, like the chat model")
    taken = vram_bytes(chat.path, chat.offload, n_ctx=settings.n_ctx, amx=settings.llama_amx)
    return plan_for(path, n_ctx=4096, gpus=gpus, taken_bytes=taken, amx=settings.llama_amx)


def guard_status(guard) -> dict:
    """What the page, `hearth doctor` and the evaluation say about the guard."""
    if guard.available:
        title = FORMATS[guard.variant].title if guard.variant in FORMATS else "Llama Guard"
        return {"status": "installed", "path": str(guard.model_path),
                "variant": guard.variant, "title": title, "mode": f"keyword filter + {title}", "warning": ""}
    return {"status": "missing", "path": None, "variant": None, "title": None, "warning": guard.reason,
            "mode": "strict: every turn is blocked until Llama Guard is installed" if guard.strict
            else "keyword filter only (Llama Guard missing)"}


def set_threshold(guard, threshold: float) -> float:
    """Block at P(unsafe) >= threshold from the next check on."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"guard threshold {threshold!r} is not a number between 0 and 1.") from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"guard threshold {threshold} is outside 0..1.")
    if guard.available:
        guard.threshold = value
    return value


def switch_guard(hearth, path: Path | str) -> dict:
    """Use another guard model from the next check on: load and verify it first (the old one stays if it fails),
    then put it in the Hearth's llama_guard part and close the old one."""
    settings = hearth.settings.model_copy(update={"guard_model": Path(path), "guard_url": None})
    new = open_guard(settings, chat=hearth.chat, gpus=hearth.gpus, compute_lock=hearth.compute_lock)
    if not new.available:
        reason = new.reason.removeprefix("The configured guard model cannot be used: ")
        raise GuardModelError(f"the guard stays as it was; {Path(path).name} cannot be used: {reason}")
    old = hearth.__dict__.get("llama_guard")
    hearth.llama_guard, hearth.settings = new, settings
    if old is not None and "llama_guard" not in hearth._given and hasattr(old, "close"):
        with getattr(old, "lock", None) or contextlib.nullcontext():  # a check under way ends first
            old.close()
    hearth._given.discard("llama_guard")  # this one the Hearth built, so it closes it
    return guard_status(new)


def recommend_guard(lang: str | None, has_chinese_documents: bool) -> dict:
    """Which guard to install, and why: Qwen3Guard-Gen where the page or the documents are Chinese (its report:
    Chinese prompt F1 about 81-85 against 45.6 for Llama Guard 3 8B), else Llama Guard 3 1B, the default."""
    chinese_page = (lang or "").lower().replace("_", "-").split("-")[0] in ("zh", "cmn", "yue")
    if chinese_page or has_chinese_documents:
        where = "the page is in Chinese" if chinese_page else "your documents are in Chinese"
        return {"name": "qwen3guard-gen-0.6b", "reason": f"{where}: Qwen3Guard-Gen moderates Chinese far better "
                "than Llama Guard 3 (prompt F1 about 81-85 against 45.6 in its technical report)"}
    return {"name": "llama-guard-3-1b", "reason": "Llama Guard 3 is the default guard (about 1 GB, S1-S13)"}


def has_chinese(text: str) -> bool:
    """Whether a text is mostly Chinese: at least a third of its letters are CJK ideographs."""
    letters = [c for c in text if c.isalpha()]
    cjk = sum("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in letters)
    return bool(letters) and cjk * 3 >= len(letters)
