"""Who computes on which cores: the chat model, the guard and the embedder."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ThreadBudget", "thread_budget"]


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
