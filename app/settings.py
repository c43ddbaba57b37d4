"""Hearth's one settings object: defaults < config file < environment < command line."""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import SettingsError

__all__ = ["Settings", "SettingsError", "load_settings", "default_config_file", "unknown_settings"]

log = logging.getLogger(__name__)

ENV_PREFIX = "HEARTH_"
NOT_SETTINGS = {"HEARTH_CONFIG"}  # variables Hearth reads that are not settings


class Settings(BaseModel):
    """Every knob Hearth has. Built once in main() and passed down; never read from os.environ later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("hearth", appauthor=False)),
        description="Folder for the index, the document catalog and downloaded models.",
    )
    model: Path | None = Field(None, description="Chat model GGUF; empty means the embedded SmolLM2-135M-Instruct.")
    guard_model: Path | None = Field(
        None, description="Llama Guard GGUF; empty means the one installed by `hearth models pull`, if any."
    )
    embedding_model: Path | None = Field(
        None, description="sentence-transformers model folder; empty means the embedded all-MiniLM-L6-v2."
    )
    require_llama_guard: bool = Field(
        False, description="Block every turn while no Llama Guard model is installed (fail closed)."
    )
    guard_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Llama Guard blocks when P(unsafe) is at least this."
    )
    guard_timeout: float = Field(
        120.0, gt=0, description="Seconds a Llama Guard check may wait and run before the turn is blocked."
    )
    guard_format: Literal["auto", "llama-guard-3-1b", "llama-guard-3-8b", "llama-guard-2", "llama-guard-1",
                          "qwen3guard"] = Field(
        "auto", description="Prompt and verdict format of guard_model; auto reads it from the GGUF's name "
        "(qwen3guard is the option for Chinese-language moderation)."
    )
    audit_log: Path | None = Field(
        None, description="Log of blocked turns (JSON lines); empty means <data_dir>/audit.jsonl."
    )
    audit_text: bool = Field(
        False, description="Also write the blocked text into the audit log (otherwise only its SHA-256)."
    )
    word_lists: Path | None = Field(
        None, description="Extra keyword lists folder (category/*.txt); empty means <data_dir>/wordlists."
    )
    collection: str = Field("default", description="Which document collection to index and search.")
    top_k: int = Field(4, ge=1, le=50, description="How many passages a question retrieves.")
    retrieval: str = Field(
        "hybrid", pattern="^(hybrid|dense|lexical)$",
        description="hybrid: embeddings and BM25 keywords fused by rank; dense: embeddings only; lexical: BM25 only.")
    rerank_model: Path | None = Field(
        None, description="sentence-transformers cross-encoder folder that reranks the candidates; empty means none.")
    query_rewrite: bool = Field(
        False, description="The chat model rephrases each question a few ways and every phrasing is searched "
        "(multi-query, fused by rank); costs one generation per search.")
    llm_rerank: bool = Field(
        False, description="The chat model reads the top 8 pages' passages and puts those that answer the question "
        "first; costs one generation per search: for a larger chat model (remote or on a GPU), not SmolLM2 on a CPU.")
    question_focus: bool = Field(
        True, description="A question that names a company or period (\"Apple's Q2 2023 10-Q\", \"the latest 10-Q\") "
        "is searched within the documents whose file name or cover page match, as well as everywhere.")
    mmr_lambda: float = Field(
        0.7, ge=0.0, le=1.0, description="Diversity of the passages: 1 ranks by relevance only, lower values prefer "
        "passages unlike those already chosen.")
    chunk_size: int = Field(
        256, ge=32, description="Chunk length in tokens of the embedding model (capped by what the model reads).")
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")
    max_pages: int = Field(5000, ge=1, description="Documents with more pages than this are refused.")
    ocr: bool = Field(True, description="Read pages that are only pictures (scans) with the built-in OCR.")
    ocr_max_pages: int = Field(
        50, ge=1, description="Documents with more pages to OCR than this are refused (OCR takes seconds a page).")
    embedding_threads: int | None = Field(
        None, ge=1, description="CPU threads for the embedding model; empty means the same as n_threads.")
    max_file_mb: int = Field(200, ge=1, description="Files larger than this many MB are refused.")
    max_read_seconds: float = Field(
        300, gt=0, description="Longest that reading one document may take (OCR not counted); past it, it is refused.")
    max_read_mb: int = Field(
        2048, ge=64, description="Memory that reading one document may take, in MB (Linux); past it, it is refused.")
    n_ctx: int = Field(4096, ge=512, description="Context window of the chat model, in tokens.")
    n_gpu_layers: int | None = Field(
        None, ge=-1, description="Layers to offload to the GPU: -1 all, 0 none; empty chooses as many as fit in free VRAM."
    )
    embedding_backend: Literal["auto", "torch", "numpy", "onnx"] = Field(
        "auto", description="Embeddings through ONNX Runtime (the model's BERT encoder as an ONNX graph, written "
        "once from its folder without torch and cached under models/onnx), torch (sentence-transformers) or NumPy "
        "(slow; no extra packages); auto uses ONNX Runtime when it reads the model (BERT, mean pooling), else torch, "
        "or NumPy when the chat model runs on the GPU. All give the same vectors (ONNX Runtime at embedding_precision fp32)."
    )
    embedding_precision: Literal["int8", "fp32"] = Field(
        "int8", description="Weights of the ONNX Runtime embedder: int8 (quantised once from fp32 and cached) embeds "
        "about 1.6x as many chunks per CPU-second with retrieval figures as good (benchmarks/RESULTS.md, pages); "
        "fp32 gives sentence-transformers' vectors to float precision. The torch and NumPy backends are fp32. "
        "Documents indexed under one precision are found under the other (cosine 0.98-0.99); add them again to match."
    )
    n_threads: int | None = Field(None, ge=1, description="CPU threads for llama.cpp and the embedder; empty means all cores.")
    llama_amx: bool = Field(
        False, description="Let llama.cpp repack weights for Intel AMX on a CPU that has it; off by default because "
        "the first answer crashed with it on such a CPU (engine/llamacpp.py). Does nothing on other CPUs.")
    max_tokens: int = Field(512, ge=16, description="Longest answer, in tokens.")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature of the chat model.")
    release_chars: int = Field(
        200, ge=0, description="Show a checked answer in pieces of about this many characters; 0 shows it only when complete."
    )
    figure_check: Literal["mark", "withhold", "off"] = Field(
        "mark", description="Figures in an answer that the sources do not hold: mark shows them marked \"not in the "
        "sources\" with the source lines that hold the asked-for figures; withhold replaces each with "
        "\"[not in the sources]\"; off checks nothing.")
    support_check: Literal["refuse", "warn", "off"] = Field(
        "refuse", description="When the documents do not support an answer (the question names a company, name or "
        "period no document holds, or the best passage is under support_threshold): refuse says \"not in the "
        "documents\" and shows the closest passages without asking the model; warn lets the model answer and says the "
        "evidence is weak; off checks nothing.")
    support_threshold: float = Field(
        0.25, ge=0.0, le=1.0, description="The least similarity (cosine, 0-1) of the best passage to the question "
        "for the documents to count as supporting an answer (benchmarks/RESULTS.md, not_found: the trade-off).")
    host: str = Field("127.0.0.1", description="Address the web page binds to.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web page.")
    open_browser: bool = Field(True, description="Open the page in a browser when the server starts.")
    mode: Literal["desktop", "spaces"] = Field(
        "desktop", description="desktop: one user on this machine; spaces: a public demo where every visitor gets "
        "a private collection (chosen automatically on Hugging Face Spaces)."
    )
    spaces_max_files: int = Field(5, ge=1, description="Spaces mode: most files one visitor may upload at once.")
    spaces_max_file_mb: int = Field(10, ge=1, description="Spaces mode: largest upload, in MB.")
    spaces_max_documents: int = Field(20, ge=1, description="Spaces mode: most documents one visitor may keep.")
    spaces_idle_minutes: int = Field(
        30, ge=1, description="Spaces mode: a visitor's documents are deleted this long after the page is closed or idle."
    )

    api: bool = Field(True, description="Serve the OpenAI-compatible API (/v1/...) on the page's port.")
    api_keys: Literal["auto", "required", "off"] = Field(
        "auto", description="API keys (`hearth keys create`): auto requires one unless the page binds to loopback."
    )
    llm_url: str | None = Field(
        None, description="OpenAI-compatible server for answers (vLLM, TGI, llama.cpp server), e.g. "
        "http://gpu-box:8000/v1; empty runs the chat model in-process."
    )
    llm_api_key: str | None = Field(None, description="Bearer key for llm_url, if it needs one.")
    llm_model: str | None = Field(None, description="Model name to ask llm_url for; empty takes the first it lists.")
    guard_url: str | None = Field(
        None, description="OpenAI-compatible server running Llama Guard, e.g. http://guard-box:8001/v1; empty runs "
        "the guard in-process."
    )
    guard_api_key: str | None = Field(None, description="Bearer key for guard_url, if it needs one.")
    guard_url_model: str | None = Field(
        None, description="Llama Guard model name at guard_url (its variant, e.g. llama-guard-3-8b, is read from it)."
    )
    chroma_url: str | None = Field(
        None, description="Chroma server (`chroma run`) for the index, e.g. http://chroma-box:8000; empty keeps the "
        "index embedded in the data dir."
    )

    @property
    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 1


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir("hearth", appauthor=False)) / "config.toml"


def _from_env(environ: Mapping[str, str]) -> dict[str, str]:
    names = set(Settings.model_fields)
    values = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):].lower() in names:
            values[key[len(ENV_PREFIX):].lower()] = value
    return values


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            values = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise SettingsError(f"config file {path}: {e}") from e
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s) " + ", ".join(
            name + (f" (did you mean {close}?)" if (close := _closest(name)) else "") for name in unknown))
    return values


def _closest(name: str) -> str | None:
    """The setting whose name is closest to a mistyped one, if one is close."""
    close = difflib.get_close_matches(name, list(Settings.model_fields), n=1, cutoff=0.5)
    return close[0] if close else None


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """A warning for each HEARTH_* variable that names no setting (it would be silently ignored), with the
    closest real name: HEARTH_CHAT_MODEL -> did you mean HEARTH_MODEL?"""
    out = []
    for key in sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in NOT_SETTINGS):
        name = key[len(ENV_PREFIX):].lower()
        if name not in Settings.model_fields:
            close = _closest(name)
            hint = f"did you mean {ENV_PREFIX}{close.upper()}?" if close else "the README lists the settings."
            out.append(f"{key} is not a Hearth setting and is ignored; {hint}")
    return out


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Layer defaults < config file < HEARTH_* environment < overrides (the command line)."""
    environ = os.environ if environ is None else environ
    for warning in unknown_settings(environ):
        log.warning(warning)
    path = config_file or Path(environ.get("HEARTH_CONFIG") or default_config_file())
    layers = {"config file " + str(path): _from_file(path), "environment": _from_env(environ)}
    layers["command line"] = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged: dict[str, Any] = {}
    for values in layers.values():
        merged.update({k: v for k, v in values.items() if v != ""})  # empty means "not set"
    if "mode" not in merged and environ.get("SPACE_ID"):  # Hugging Face Spaces sets SPACE_ID
        merged["mode"] = "spaces"
    if merged.get("mode") == "spaces" and "host" not in merged:
        merged["host"] = "0.0.0.0"  # a Space is reached through its proxy, not on loopback
    try:
        return Settings(**merged)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            name = ".".join(str(p) for p in err["loc"])
            source = next((src for src, vals in reversed(layers.items()) if name in vals), "default")
            problems.append(f"{name} (from {source}): {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from e
