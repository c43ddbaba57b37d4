"""Running models on this machine: opening GGUFs with llama.cpp, the chat model (in-process or a server),
GPUs and offload plans, and the thread budget. Used by app/ and guard/ alike; imports only core/."""

from engine.chat import ChatModel, Generation, GenerationStats, fallback_chat_format
from engine.gpu import GpuInfo, ModelShape, OffloadPlan, detect_gpus, plan_for, plan_offload, read_shape, vram_bytes
from engine.llamacpp import amx_repack_off, cpu_has_amx, gpu_offload_supported, open_llama
from engine.remote import RemoteChatModel
from engine.threads import ThreadBudget, thread_budget

__all__ = [
    "ChatModel", "Generation", "GenerationStats", "GpuInfo", "ModelShape", "OffloadPlan", "RemoteChatModel",
    "ThreadBudget", "amx_repack_off", "cpu_has_amx", "detect_gpus", "fallback_chat_format", "gpu_offload_supported",
    "open_llama", "plan_for", "plan_offload", "read_shape", "thread_budget", "vram_bytes",
]
