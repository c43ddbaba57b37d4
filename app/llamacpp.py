"""Opening GGUF models with llama.cpp: the one place Hearth calls Llama(), so that the chat model, the guard
and the metadata reads get the same work-arounds.

AMX: llama.cpp built for a CPU with Intel AMX (GGML_NATIVE, the default of a source install) repacks
quantized weights into an AMX buffer, and on such a CPU here (a Xeon with amx_int8, in a VM) the first decode
then crashes the process with a segmentation fault (SmolLM2 Q4_1, llama-cpp-python 0.3.36). Loading without
llama.cpp's extra buffer types (`use_extra_bufts = False`) runs the same weights through the ordinary AVX-512
kernels and gives the same text. Hearth does that wherever the CPU reports AMX; HEARTH_LLAMA_AMX=1 keeps
llama.cpp's own choice (for a machine where AMX is known to work).
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

__all__ = ["open_llama", "cpu_has_amx", "amx_repack_off"]

log = logging.getLogger(__name__)

_patch_lock = threading.Lock()
_patched = False


@lru_cache(maxsize=1)
def cpu_has_amx() -> bool:
    """Whether the CPU reports Intel AMX for int8 (Linux /proc/cpuinfo; False where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_int8" in line.split()
    except OSError:
        pass
    return False


def amx_repack_off() -> bool:
    """Whether Hearth loads models without llama.cpp's extra (AMX) buffer types on this machine."""
    return cpu_has_amx() and os.environ.get("HEARTH_LLAMA_AMX", "").strip().lower() not in ("1", "true", "yes", "on")


def _apply_workarounds() -> None:
    """Where amx_repack_off(): make every later Llama() load with use_extra_bufts = False (once per process;
    thread-safe)."""
    global _patched
    if not amx_repack_off():
        return
    with _patch_lock:
        if _patched:
            return
        import llama_cpp.llama_cpp as lib

        defaults = lib.llama_model_default_params

        def model_params():
            params = defaults()
            params.use_extra_bufts = False
            return params

        lib.llama_model_default_params = model_params  # llama_cpp.Llama reads its defaults from here
        _patched = True
        log.info("cpu reports amx: loading llama.cpp models without extra buffer types (HEARTH_LLAMA_AMX=1 keeps them)")


def open_llama(model_path: Path | str, **kwargs):
    """llama_cpp.Llama(model_path, **kwargs), with this machine's work-arounds applied first."""
    from llama_cpp import Llama

    _apply_workarounds()
    return Llama(str(model_path), **kwargs)


def main(argv: list[str] | None = None) -> None:
    """`python -m app.llamacpp --model M.gguf ...`: llama-cpp-python's OpenAI-compatible server
    (`python -m llama_cpp.server`, same arguments) with the work-arounds above applied first."""
    import runpy
    import sys

    _apply_workarounds()
    sys.argv = ["llama_cpp.server", *(sys.argv[1:] if argv is None else argv)]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
