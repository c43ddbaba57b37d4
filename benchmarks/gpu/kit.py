"""`prepare`: the git-ignored kit (.gpu/) that a GPU machine lacks, small enough to travel with the repository.

A GPU machine here is offline, has Python 3.12 with torch, numpy, onnxruntime, tokenizers, jinja2 and the rest of
IMAGE_HAS, and takes the repository plus at most 64 MiB. The kit holds:

- llama-cpp-python.tar.xz: llama-cpp-python's source (the installed version), without vendored test models,
  docs, examples and the other GPU backends' sources (about 6 MB, from 76);
- wheels.tar.xz: the Python 3.12 manylinux wheels a guarded RAG turn imports beyond the image (WHEELS), re-zipped
  uncompressed so that xz packs them (chromadb's 59 MB library goes from 21 MB to 12);
- data.tar.xz: two real 10-Qs, SmolLM2's tokenizer (for the synthetic models, synth.py) and the embedded
  all-MiniLM-L6-v2 with its matrices as int8 with one scale per row (restored to float32 by unpack_embedder);
- manifest.json: versions, sizes and digests.

The embedder is packed because its float32 weights (90 MB) cannot travel; the chat and guard models are written
on the machine instead (synth.py), since speed depends on shapes, not on weight values.
"""

from __future__ import annotations

import importlib.metadata as md
import io
import json
import lzma
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from core.digest import sha256_file

__all__ = ["WHEELS", "IMAGE_HAS", "OPTIONAL", "prepare", "unpack_data", "unpack_embedder", "travel_bytes", "LIMIT_MIB",
           "PDFS", "QUESTION"]

LIMIT_MIB = 60  # the repository plus the kit; the device takes 64 MiB
# The two real filings a GPU turn ingests, and what it asks of them.
PDFS = ("2023 Q3 AAPL.pdf", "2023 Q3 NVDA.pdf")
QUESTION = "What were Apple's total net sales for the quarter ended July 1, 2023?"

# What a guarded RAG turn imports (app.hearth: ingest, retrieve, both checks, the answer) that the GPU image
# lacks or holds in another version that Hearth was not tested with. Measured: the turn step lists the
# distributions it imported, and the run reports any that are in neither this list nor IMAGE_HAS.
WHEELS = (
    "chromadb", "pydantic", "pydantic-core", "pydantic-settings", "python-dotenv", "annotated-types",
    "typing-inspection", "typing-extensions", "click", "platformdirs", "diskcache",
    "langchain-core", "langchain-text-splitters", "jsonschema", "jsonschema-specifications", "referencing",
    "rpds-py", "jsonpointer", "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-proto",
    "opentelemetry-exporter-otlp-proto-common", "opentelemetry-exporter-otlp-proto-grpc",
    "opentelemetry-exporter-otlp-common",
    "opentelemetry-semantic-conventions", "googleapis-common-protos", "protobuf", "orjson", "overrides",
    "pybase64", "tenacity", "uuid-utils", "pypdfium2", "pyahocorasick", "opencc", "confusable-homoglyphs",
    "defusedxml", "charset-normalizer",
    "setuptools",  # builds Hearth itself there (pip's isolated build, --no-index)
)
# The GPU image's Python packages (../.library device KINDS.md, read 2026-11-17), those a turn touches.
IMAGE_HAS = frozenset({
    "numpy", "scipy", "onnx", "onnxruntime", "tokenizers", "safetensors", "jinja2", "markupsafe", "pyyaml",
    "pygments", "attrs", "certifi", "grpcio", "httpx", "httpcore", "h11", "anyio", "idna", "requests", "urllib3",
    "rich", "markdown-it-py", "mdurl", "pillow", "packaging", "tqdm", "huggingface-hub", "filelock", "fsspec",
    "ml-dtypes", "psutil", "nvidia-ml-py", "torch", "sentence-transformers", "transformers", "regex",
    "typing-extensions", "protobuf", "click", "charset-normalizer", "sympy", "mpmath", "networkx",
})
# Imported where installed, not needed: urllib3's and httpx's optional codecs and proxies.
OPTIONAL = frozenset({"pysocks", "brotli", "zstandard"})
PLATFORMS = ("manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_24_x86_64", "manylinux_2_27_x86_64",
             "manylinux_2_28_x86_64", "manylinux_2_31_x86_64", "manylinux_2_34_x86_64", "manylinux_2_35_x86_64",
             "manylinux1_x86_64", "manylinux_2_5_x86_64")
# Not needed to build llama.cpp for CUDA (checked: the build configures and compiles without them).
LLAMA_PRUNE = ("vendor/llama.cpp/models/*.gguf", "vendor/llama.cpp/docs", "vendor/llama.cpp/tools/ui",
               "vendor/llama.cpp/tools/server/public*", "vendor/llama.cpp/examples", "vendor/llama.cpp/tests",
               "vendor/llama.cpp/media", "vendor/llama.cpp/.devops", "vendor/llama.cpp/.github",
               "vendor/llama.cpp/ggml/src/ggml-{vulkan,sycl,opencl,metal,cann,hexagon,et,openvino,webgpu,virtgpu,"
               "musa,kompute,zdnn,zendnn,rpc}", "examples", "docs", "docker", ".git")


def _pip_download(args: list[str], dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"pip download failed ({' '.join(args)}):\n{done.stderr[-2000:]}")


def _expand(root: Path, pattern: str) -> list[Path]:
    if "{" in pattern:
        head, rest = pattern.split("{", 1)
        names, tail = rest.split("}", 1)
        return [p for n in names.split(",") for p in root.glob(head + n + tail)]
    return list(root.glob(pattern))


def _tar_xz(out: Path, members: list[tuple[Path, str]], level: int) -> None:
    tmp = out.with_suffix(".part")
    with lzma.open(tmp, "wb", preset=level) as xz, tarfile.open(fileobj=xz, mode="w") as tar:
        for path, name in members:
            tar.add(path, arcname=name)
    tmp.replace(out)


def _llama_source(kit: Path, level: int) -> dict:
    version = md.version("llama_cpp_python")
    out = kit / "llama-cpp-python.tar.xz"
    if out.is_file() and (kit / "llama-cpp-python.version").read_text() == version:
        return {"version": version, "bytes": out.stat().st_size}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _pip_download(["--no-binary", ":all:", f"llama-cpp-python=={version}"], tmp)
        with tarfile.open(next(tmp.glob("llama_cpp_python-*.tar.gz"))) as tar:
            tar.extractall(tmp, filter="data")
        src = next(p for p in tmp.iterdir() if p.is_dir())
        for pattern in LLAMA_PRUNE:
            for p in _expand(src, pattern):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        _tar_xz(out, [(src, "llama-cpp-python")], level)
    (kit / "llama-cpp-python.version").write_text(version)
    return {"version": version, "bytes": out.stat().st_size}


def _stored(wheel: Path) -> None:
    """Re-zip a wheel without compression (its RECORD hashes the files, not the zip), so xz packs it well."""
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, data)
    tmp.replace(wheel)


def _wheels(kit: Path, level: int, python: str) -> dict:
    pins = [f"python {python}"] + [f"{name}=={md.version(name)}" for name in WHEELS]
    out = kit / "wheels.tar.xz"
    if out.is_file() and (kit / "wheels.pins").read_text() == "\n".join(pins):
        return {"pins": pins, "bytes": out.stat().st_size}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
        for p in PLATFORMS:
            args += ["--platform", p]
        _pip_download(args + pins[1:], tmp)
        wheels = sorted(tmp.glob("*.whl"))
        for w in wheels:
            _stored(w)
        _tar_xz(out, [(w, f"wheels/{w.name}") for w in wheels], level)
    (kit / "wheels.pins").write_text("\n".join(pins))
    return {"pins": pins, "bytes": out.stat().st_size}


def pack_embedder(folder: Path) -> dict[str, bytes]:
    """A sentence-transformers folder as files: its small files as they are, model.safetensors as int8 matrices
    with a float32 scale per row (vectors and biases as float32) in embedder.npz."""
    from safetensors.numpy import load_file

    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
             if p.is_file() and p.name not in ("model.safetensors", "pytorch_model.bin", "README.md")
             and "onnx" not in p.parts}
    arrays = {}
    for name, t in load_file(str(folder / "model.safetensors")).items():
        t = t.astype(np.float32)
        if t.ndim == 2:
            scale = np.maximum(np.abs(t).max(axis=1, keepdims=True), 1e-12) / 127.0
            arrays[f"q8:{name}"] = np.round(t / scale).astype(np.int8)
            arrays[f"scale:{name}"] = scale.astype(np.float32)
        else:
            arrays[f"f32:{name}"] = t
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    files["embedder.npz"] = buf.getvalue()
    return files


def unpack_embedder(packed: Path, folder: Path) -> Path:
    """The folder pack_embedder packed, with model.safetensors restored (float32)."""
    from safetensors.numpy import save_file

    if (folder / "model.safetensors").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for p in packed.rglob("*"):
        if p.is_file() and p.name != "embedder.npz":
            dest = folder / p.relative_to(packed)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
    z = np.load(packed / "embedder.npz")
    tensors = {}
    for key in z.files:
        kind, name = key.split(":", 1)
        if kind == "q8":
            tensors[name] = z[key].astype(np.float32) * z[f"scale:{name}"]
        elif kind == "f32":
            tensors[name] = z[key]
    tmp = folder / "model.safetensors.part"
    save_file(tensors, str(tmp))
    tmp.replace(folder / "model.safetensors")
    return folder


def _data(kit: Path, level: int, pdf_dir: Path) -> dict:
    from app.services.models import embedded_chat_model, embedded_embedding_model
    from benchmarks.gpu.synth import read_tokenizer

    out = kit / "data.tar.xz"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "pdfs").mkdir()
        for name in PDFS:
            shutil.copyfile(pdf_dir / name, tmp / "pdfs" / name)
        (tmp / "tokenizer.json").write_text(json.dumps(read_tokenizer(embedded_chat_model())))
        for name, data in pack_embedder(embedded_embedding_model()).items():
            (tmp / "embedder" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / "embedder" / name).write_bytes(data)
        _tar_xz(out, [(p, p.name) for p in sorted(tmp.iterdir())], level)
    return {"pdfs": list(PDFS), "bytes": out.stat().st_size}


def unpack_data(kit: Path, work: Path) -> Path:
    """data.tar.xz into <work>/data (once), the embedder restored into <work>/data/minilm."""
    data = work / "data"
    if not (data / "tokenizer.json").is_file():
        data.mkdir(parents=True, exist_ok=True)
        with lzma.open(kit / "data.tar.xz") as xz, tarfile.open(fileobj=xz) as tar:
            tar.extractall(data, filter="data")
    unpack_embedder(data / "embedder", data / "minilm")
    return data


def travel_bytes(repo: Path) -> int:
    """What travels of the repository: tracked files, and untracked ones git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=repo, check=True,
                           capture_output=True).stdout.split(b"\0")
    return sum((repo / n.decode()).stat().st_size for n in names if n and (repo / n.decode()).is_file())


def prepare(kit: Path, repo: Path, pdf_dir: Path, *, level: int = 6, python: str = "3.12", progress=print) -> dict:
    """Fill `kit`; fails (SystemExit) if the repository plus the kit would pass LIMIT_MIB."""
    kit.mkdir(parents=True, exist_ok=True)
    missing = [n for n in PDFS if not (pdf_dir / n).is_file()]
    if missing:
        raise SystemExit(f"{pdf_dir}: {', '.join(missing)} missing; set HEARTH_SHARED_DATA to ../shared/data.")
    manifest = {}
    for part, make in (("llama_cpp_python", lambda: _llama_source(kit, level)), ("wheels", lambda: _wheels(kit, level, python)),
                       ("data", lambda: _data(kit, level, pdf_dir))):
        progress(f"prepare: {part} ...")
        manifest[part] = make()
        progress(f"prepare: {part} {manifest[part]['bytes'] / 2**20:.1f} MiB")
    kit_bytes = sum(p.stat().st_size for p in kit.iterdir() if p.is_file())
    repo_bytes = travel_bytes(repo)
    manifest.update(kit_bytes=kit_bytes, repo_bytes=repo_bytes,
                    digests={p.name: sha256_file(p) for p in sorted(kit.glob("*.tar.xz"))})
    (kit / "manifest.json").write_text(json.dumps(manifest, indent=1))
    total = (kit_bytes + repo_bytes) / 2**20
    progress(f"prepare: kit {kit_bytes / 2**20:.1f} MiB + repository {repo_bytes / 2**20:.1f} MiB = {total:.1f} MiB "
             f"(limit {LIMIT_MIB} MiB)")
    if total > LIMIT_MIB:
        raise SystemExit(f"the repository plus {kit} is {total:.1f} MiB, over {LIMIT_MIB} MiB: the GPU machine takes "
                         "64 MiB in all. Leave large files out of the repository or the kit.")
    return manifest
