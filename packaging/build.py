"""Build the Hearth desktop bundle: `python packaging/build.py` -> dist/hearth/hearth (one folder).

Run it in the project's virtual environment with the packaging tools installed
(`pip install -e '.[bundle]'`). It refuses a CUDA torch (the bundle would grow by gigabytes), builds
with PyInstaller under `nice`, and prints the build time and the bundle's size as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "hearth.spec"

__all__ = ["build", "folder_size", "check_torch"]


class BuildError(RuntimeError):
    """The bundle cannot be built as asked; the message says what to change."""


def check_torch() -> str | None:
    """The installed torch version if it is a CPU build, None without torch; BuildError for a CUDA one."""
    try:
        from importlib.metadata import PackageNotFoundError, requires, version
        torch_version = version("torch")
    except PackageNotFoundError:
        return None
    if any(r.startswith("nvidia") for r in requires("torch") or []):
        raise BuildError(f"torch {torch_version} is a CUDA build (it needs nvidia-* packages): install the CPU build "
                         "first (`pip install torch==2.13.0`, or from https://download.pytorch.org/whl/cpu), "
                         "or build without --torch")
    return torch_version


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def build(dist: Path, work: Path, *, torch: bool = False, clean: bool = True) -> dict:
    """Run PyInstaller on packaging/hearth.spec; returns what was built, how long it took and how big it is."""
    if shutil.which("pyinstaller") is None and not _has_module("PyInstaller"):
        raise BuildError("PyInstaller is not installed: pip install -e '.[bundle]' (the test extra has it too)")
    torch_version = check_torch() if torch else None
    if torch and torch_version is None:
        raise BuildError("torch is not installed: `pip install torch==2.13.0` (CPU), or build without --torch")
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work)] + (["--clean"] if clean else []) + [str(SPEC)]
    if hasattr(os, "nice"):
        cmd = ["nice", "-n", "10"] + cmd
    env = {**os.environ, "HEARTH_BUNDLE_TORCH": "1" if torch else "0"}
    started = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    seconds = time.monotonic() - started
    folder = dist / "hearth"
    exe = folder / ("hearth.exe" if sys.platform == "win32" else "hearth")
    if not exe.is_file():
        raise BuildError(f"PyInstaller finished but {exe} is missing; see the log above")
    info = {"executable": str(exe), "folder": str(folder), "build_seconds": round(seconds, 1),
            "size_mb": round(folder_size(folder) / 2**20, 1), "torch": torch_version,
            "python": sys.version.split()[0], "platform": sys.platform}
    (folder / "build-info.json").write_text(json.dumps(info, indent=2))
    return info


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle folder goes [dist/]")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="PyInstaller's work folder")
    parser.add_argument("--torch", action="store_true",
                        help="add torch and sentence-transformers (about 600 MB), for embedding models that ONNX "
                             "Runtime does not read (Hearth embeds its default MiniLM through ONNX Runtime)")
    parser.add_argument("--no-clean", action="store_true", help="reuse PyInstaller's cache from the last build")
    args = parser.parse_args(argv)
    try:
        info = build(args.dist, args.work, torch=args.torch, clean=not args.no_clean)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
