"""Installing, choosing and removing models: one code path behind `hearth models`, the API and the page.

add() copies a GGUF in (checked: llama.cpp reads it; a guard must load and verify as one), use() switches the
chat model or the guard without a restart and remembers the choice, remove() deletes an installed file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from app.services import models
from app.services.guarding import guard_path, switch_guard
from core.errors import GuardModelError, InputError, NotFoundError

__all__ = ["catalog", "install", "add", "use", "remove", "in_use", "serving", "guard_working"]


def in_use(hearth) -> dict[str, Path | None]:
    """The files the chat model and the guard come from now (None: a server, or no guard)."""
    s = hearth.settings
    chat = None if s.llm_url else hearth.chat.path
    built = hearth.__dict__.get("llama_guard")  # the guard in use once built; else the one the next start opens
    if built is not None:
        guard = built.model_path if built.available else None
    else:
        guard = None if s.guard_url else guard_path(s)
    return {"chat": Path(chat).resolve() if chat else None,
            "guard": Path(guard).resolve() if guard and Path(guard).is_file() else None}


def catalog(data_dir: Path, using: dict[str, Path | None] | None = None) -> list[dict]:
    """Every registry model and every added file: kind, installed where, in use as what."""
    using = using or {}
    rows = []
    for spec in [*models.REGISTRY.values(), *models.added_models(data_dir)]:
        path = models.installed_path(spec, data_dir)
        used = [k for k, p in using.items() if p is not None and path is not None and Path(path).resolve() == p]
        rows.append({**spec.to_dict(), "installed": path is not None, "path": str(path) if path else None,
                     "added": spec.name not in models.REGISTRY, "in_use": used[0] if used else None})
    return rows


def guard_working(hearth) -> bool:
    """Whether a guard model checks the turns (or will, once the one configured has loaded)."""
    s, built = hearth.settings, hearth.__dict__.get("llama_guard")
    return built.available if built is not None else bool(s.guard_url or guard_path(s))


def install(hearth, name: str, *, progress=None, cancel=None) -> dict:
    """Download a registry model; a guard is switched to at once while no guard model works (the first run)."""
    from app.services.downloads import pull

    working = guard_working(hearth)
    path = pull(name, hearth.settings.data_dir, progress=progress, cancel=cancel)
    result = {"name": name, "path": str(path), "in_use": None, "note": ""}
    if models.REGISTRY[name].kind == "guard" and not working:
        try:
            switch_guard(hearth, path)
            result["in_use"] = "guard"
        except GuardModelError as e:
            result["note"] = str(e)
    return result


def add(source: Path | str, data_dir: Path, *, guard: bool = False) -> list[dict]:
    """Copy a GGUF (or every GGUF in a folder) into the models folder, checked; usable at once."""
    source = Path(source).expanduser()
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() == ".gguf" and p.is_file())
        if not files:
            raise NotFoundError(f"{source} holds no .gguf file; give a GGUF file or a folder with one.")
    elif source.is_file():
        files = [source]
    else:
        raise NotFoundError(f"{source} does not exist; give the path of a .gguf file or a folder of them.")
    return [_add_one(path, data_dir, guard=guard) for path in files]


def _add_one(source: Path, data_dir: Path, *, guard: bool) -> dict:
    from engine import open_llama

    folder = models.models_dir(data_dir)
    target = folder / source.name
    if target.exists():
        raise InputError(f"{target.name} is already in {folder}; remove it first with `hearth models remove "
                         f"{target.stem}`, or rename the file.")
    try:
        meta = open_llama(source, vocab_only=True, verbose=False)  # reads the header and vocabulary, no weights
    except (ValueError, RuntimeError, OSError) as e:
        raise InputError(f"{source} is not a GGUF model llama.cpp can read ({e}); give a .gguf file.") from e
    try:
        says = " ".join(str(meta.metadata.get(k, "")) for k in ("general.name", "general.basename")) + source.name
    finally:
        meta.close()
    kind = "guard" if guard or "guard" in says.lower() else "chat"
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / ".adding" / source.name  # the final name appears only once the file is checked
    staging.parent.mkdir(exist_ok=True)
    try:
        shutil.copyfile(source, staging)
        variant = _verify_guard(staging) if kind == "guard" else None
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    record = folder / models.ADDED_INDEX
    kinds = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
    record.write_text(json.dumps({**kinds, target.name: kind}, indent=1), encoding="utf-8")
    return {"name": target.stem, "kind": kind, "path": str(target), "size_bytes": target.stat().st_size,
            "variant": variant}


def _verify_guard(path: Path) -> str:
    """Load it as a guard; a model that does not render and answer like one is refused (GuardModelError)."""
    from guard import LlamaGuard

    guard = LlamaGuard(path, n_ctx=2048)
    try:
        guard.load()
        return guard.variant
    except GuardModelError as e:
        raise GuardModelError(f"{path.name} was not added as a guard: {e}") from e
    finally:
        guard.close()


def _locate(name: str | Path, data_dir: Path) -> tuple[models.ModelSpec | None, Path]:
    """A model name (registry or added) or a GGUF path -> its spec (if known) and installed file."""
    spec = models.find_model(str(name), data_dir)
    if spec is not None:
        path = models.installed_path(spec, data_dir)
        if path is None:
            raise NotFoundError(f"{spec.name} is not installed; run `hearth models pull {spec.name}`, or copy the "
                                "file in with `hearth models add PATH`.")
        return spec, Path(path)
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf" or not path.is_file():
        raise NotFoundError(f"{name!r} is neither an installed model (see `hearth models list`) nor a .gguf file.")
    return None, path


def use(hearth, name: str | Path, *, guard: bool = False) -> dict:
    """Switch the chat model (it loads on next use) or the guard (loaded and verified now), and remember it."""
    spec, path = _locate(name, hearth.settings.data_dir)
    kind = "guard" if guard or (spec is not None and spec.kind == "guard") else "chat"
    if spec is not None and spec.kind == "embedding":
        raise InputError(f"{spec.name} is the embedding model; it is set with HEARTH_EMBEDDING_MODEL.")
    if kind == "guard":
        result = {"kind": "guard", **switch_guard(hearth, path)}
    else:
        result = {"kind": "chat", **hearth.chat.switch(path)}
    models.choose(hearth.settings.data_dir, kind, path)
    return {"name": spec.name if spec else path.stem, **result}


def remove(hearth, name: str) -> dict:
    """Delete an installed model file; the embedded ones and the ones in use are refused."""
    data_dir = hearth.settings.data_dir
    spec, path = _locate(name, data_dir)
    if spec is None or spec.embedded:
        raise InputError(f"{name} is not a model in the models folder; only downloaded or added ones are removed "
                         "(see `hearth models list`).")
    for kind, used in in_use(hearth).items():
        if used is not None and used == path.resolve():
            other = "another model" if kind == "chat" else "another guard with --guard"
            raise InputError(f"{spec.name} is in use as the {kind} model; switch first (`hearth models use` "
                             f"{other}), then remove it.")
    path.unlink()
    record = models.models_dir(data_dir) / models.ADDED_INDEX
    if record.is_file():
        kinds = json.loads(record.read_text(encoding="utf-8"))
        kinds.pop(path.name, None)
        record.write_text(json.dumps(kinds, indent=1), encoding="utf-8")
    return {"name": spec.name, "path": str(path), "removed": True}


def serving(hearth) -> dict:
    """What /v1/models says of each kind of model id: the model in use and those installed (nothing loads)."""
    using = in_use(hearth)
    rows = catalog(hearth.settings.data_dir, using)

    def named(kind: str) -> str | None:
        path = using.get(kind)
        return next((r["name"] for r in rows if r["in_use"] == kind), path.stem if path else None)

    installed = {kind: [r["name"] for r in rows if r["installed"] and r["kind"] == kind]
                 for kind in ("chat", "guard", "embedding")}
    chat = {"model": hearth.settings.llm_url or named("chat"), "guard": hearth.settings.guard_url or named("guard"),
            "installed": installed["chat"], "guards_installed": installed["guard"]}
    return {"chat": chat, "embedding": {"model": Path(hearth.embedding_model_path).name,
                                        "installed": installed["embedding"]}}
