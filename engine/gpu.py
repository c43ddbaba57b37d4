"""What the GPU can hold: detection of NVIDIA GPUs and free VRAM, and offload planning.

plan_offload() is a pure function of sizes, so the choice of n_gpu_layers is tested with literal
numbers on machines without a GPU; detect_gpus() asks NVML (pynvml) or nvidia-smi when present.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.llamacpp import gpu_offload_supported, open_llama

__all__ = ["GpuInfo", "OffloadPlan", "ModelShape", "detect_gpus", "plan_offload", "plan_for", "read_shape", "vram_bytes",
           "kv_cache_bytes", "shape_from_metadata", "MiB", "GiB"]

log = logging.getLogger(__name__)

MiB = 2**20
GiB = 2**30
# CUDA context, cuBLAS workspace and compute buffers that llama.cpp allocates beside weights and KV cache.
RESERVE_BYTES = 600 * MiB


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    total_bytes: int
    free_bytes: int

    def to_dict(self) -> dict:
        return {**asdict(self), "total_gib": round(self.total_bytes / GiB, 1), "free_gib": round(self.free_bytes / GiB, 1)}


@dataclass(frozen=True)
class ModelShape:
    """What offload planning needs to know about a GGUF (read from its metadata)."""

    file_bytes: int
    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int

    @property
    def head_dim(self) -> int:
        return self.n_embd // max(self.n_head, 1)


@dataclass(frozen=True)
class OffloadPlan:
    n_gpu_layers: int  # what llama.cpp gets: -1 all, 0 none, else that many layers
    layers_on_gpu: int  # in numbers, for people
    n_layers: int
    reason: str

    @property
    def full(self) -> bool:
        return self.n_layers > 0 and self.layers_on_gpu >= self.n_layers

    def to_dict(self) -> dict:
        return {**asdict(self), "full": self.full}


def kv_cache_bytes(shape: ModelShape, n_ctx: int, bytes_per_value: int = 2) -> int:
    """f16 K and V for every layer and context position."""
    return 2 * shape.n_layers * n_ctx * shape.n_head_kv * shape.head_dim * bytes_per_value


def shape_from_metadata(metadata: dict, file_bytes: int) -> ModelShape:
    """ModelShape from llama.cpp's GGUF metadata strings (e.g. 'qwen2.block_count')."""
    arch = metadata.get("general.architecture", "llama")

    def num(key: str, default: int = 0) -> int:
        try:
            return int(metadata.get(f"{arch}.{key}", default))
        except (TypeError, ValueError):
            return default

    n_head = num("attention.head_count", 1)
    return ModelShape(file_bytes, num("block_count"), num("embedding_length"), n_head,
                      num("attention.head_count_kv", n_head))


def plan_offload(shape: ModelShape, *, n_ctx: int, free_vram_bytes: int | None, gpu_supported: bool,
                 requested: int | None = None, reserve_bytes: int = RESERVE_BYTES) -> OffloadPlan:
    """How many layers to put on the GPU so that weights, KV cache and buffers fit in free VRAM.

    requested (the n_gpu_layers setting) wins when given: -1 all, 0 none, N layers. Otherwise all
    layers when the whole model fits, as many whole layers as fit when it does not, and the CPU
    when there is no usable GPU.
    """
    n = shape.n_layers
    if not gpu_supported:
        return OffloadPlan(0, 0, n, "CPU: this llama.cpp build has no GPU support")
    if requested is not None:
        on_gpu = n if requested < 0 else min(requested, n)
        return OffloadPlan(requested, on_gpu, n, f"set by n_gpu_layers={requested}")
    if free_vram_bytes is None:
        return OffloadPlan(0, 0, n, "CPU: no GPU with known free memory was found")
    kv = kv_cache_bytes(shape, n_ctx)
    # Weights are spread over the layers plus one more for token embeddings and the output head.
    per_layer = (shape.file_bytes + kv) / (n + 1)
    need = shape.file_bytes + kv + reserve_bytes
    if need <= free_vram_bytes:
        return OffloadPlan(-1, n, n, f"all {n} layers: model {shape.file_bytes / GiB:.1f} GiB + KV cache "
                                     f"{kv / GiB:.2f} GiB fit in {free_vram_bytes / GiB:.1f} GiB free")
    fit = int((free_vram_bytes - reserve_bytes - per_layer) // per_layer) if per_layer > 0 else 0
    fit = max(0, min(fit, n - 1))
    if fit == 0:
        return OffloadPlan(0, 0, n, f"CPU: {free_vram_bytes / GiB:.1f} GiB free VRAM holds no layer "
                                    f"of a {need / GiB:.1f} GiB model")
    return OffloadPlan(fit, fit, n, f"{fit} of {n} layers: the model needs {need / GiB:.1f} GiB, "
                                    f"{free_vram_bytes / GiB:.1f} GiB is free")


def read_shape(model_path: Path | str, *, amx: bool = False) -> ModelShape:
    """Layer count and attention shape from a GGUF's metadata, without loading its weights."""
    llm = open_llama(model_path, amx=amx, vocab_only=True, verbose=False)
    try:
        return shape_from_metadata(llm.metadata, Path(model_path).stat().st_size)
    finally:
        llm.close()


def plan_for(model_path, *, n_ctx: int, gpus: list[GpuInfo], requested: int | None = None, taken_bytes: int = 0,
             amx: bool = False) -> OffloadPlan:
    """The offload plan of a GGUF on this machine: its shape read from the file, the first GPU's free memory less
    what other models already hold there (taken_bytes)."""
    if not gpu_offload_supported():
        return OffloadPlan(0, 0, 0, "CPU: this llama.cpp build has no GPU support")
    free = gpus[0].free_bytes - taken_bytes if gpus else None
    return plan_offload(read_shape(model_path, amx=amx), n_ctx=n_ctx, free_vram_bytes=free, gpu_supported=True,
                        requested=requested)


def vram_bytes(model_path, plan: OffloadPlan, *, n_ctx: int, amx: bool = False) -> int:
    """What a model wholly on the GPU holds there (weights, KV cache, buffers); 0 when it is not wholly there."""
    if not plan.full:
        return 0
    shape = read_shape(model_path, amx=amx)
    return shape.file_bytes + kv_cache_bytes(shape, n_ctx) + RESERVE_BYTES


def detect_gpus() -> list[GpuInfo]:
    """NVIDIA GPUs with their free memory; [] when there is none (or no driver)."""
    try:
        return _detect_nvml()
    except Exception as e:  # no pynvml, no driver, no GPU: all mean "ask nvidia-smi, else none"
        log.debug("NVML unavailable: %s", e)
    return _detect_nvidia_smi()


def _detect_nvml() -> list[GpuInfo]:
    import pynvml

    pynvml.nvmlInit()
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(GpuInfo(i, name.decode() if isinstance(name, bytes) else name, int(mem.total), int(mem.free)))
        return gpus
    finally:
        pynvml.nvmlShutdown()


def _detect_nvidia_smi() -> list[GpuInfo]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=15, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("nvidia-smi failed: %s", e)
        return []
    return parse_nvidia_smi(out)


def parse_nvidia_smi(out: str) -> list[GpuInfo]:
    """Rows of `index, name, total MiB, free MiB`."""
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            continue
        try:
            gpus.append(GpuInfo(int(parts[0]), parts[1], int(float(parts[2]) * MiB), int(float(parts[3]) * MiB)))
        except ValueError:
            continue
    return gpus
