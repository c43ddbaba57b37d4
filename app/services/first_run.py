"""What the first page offers while Hearth runs on its defaults: Llama Guard 3 1B while no guard model checks the
turns, and the chat model recommended for this machine while the embedded SmolLM2-135M answers and that one is not
installed. The page's banner (app/web/first_run.py) shows them; installing is InstallJobs, the same code as
`hearth models pull`, and what is installed is switched to without a restart."""

from __future__ import annotations

from pathlib import Path

from app.services import advice, installs, models
from app.services.install_jobs import InstallJob, InstallJobs
from core.errors import InputError

__all__ = ["FIRST_GUARD", "offers", "start"]

FIRST_GUARD = "llama-guard-3-1b"  # the default guard (recommend_guard names Qwen3Guard for Chinese: Models tab)


def offers(hearth) -> dict:
    """{"guard": {name, size} or None, "chat": {name, size, reason} or None, "strict": bool}; nothing loads."""
    s = hearth.settings
    guard = None
    if not installs.guard_working(hearth):
        spec = models.REGISTRY[FIRST_GUARD]
        guard = {"name": spec.name, "size": spec.size}
    return {"guard": guard, "chat": _chat_offer(hearth), "strict": s.require_llama_guard}


def _chat_offer(hearth) -> dict | None:
    embedded = models.embedded_chat_model()
    if hearth.settings.llm_url or embedded is None or Path(hearth.chat.path).resolve() != embedded.resolve():
        return None  # the user chose a model (or a server): no advice pressed on them
    rec = advice.recommended_chat(hearth)
    spec = models.REGISTRY.get(rec["name"])
    if spec is None or spec.embedded or models.installed_path(spec, hearth.settings.data_dir) is not None:
        return None
    return {"name": spec.name, "size": spec.size, "reason": rec["reason"]}


def start(hearth, jobs: InstallJobs, kind: str) -> InstallJob:
    """Install what is offered for a kind ("guard" or "chat") in the background; the chat model is switched to
    once it is in, the guard as soon as it loads and verifies (installs.install)."""
    if kind == "guard":
        return jobs.start(FIRST_GUARD)[0]
    offer = _chat_offer(hearth)
    if offer is None:
        raise InputError("no chat model is offered for this machine now: the recommended one is installed or another "
                         "model is in use; see the Models tab.")
    return jobs.start(offer["name"], use=True)[0]
