"""Opening GGUF models with llama.cpp: the one place Hearth calls Llama(), so that the chat model, the guard
and the metadata reads get the same work-arounds.

AMX: llama.cpp built for a CPU with Intel AMX (GGML_NATIVE, the default of a source install) repacks
quantized weights into an AMX buffer, and on such a CPU here (a Xeon with amx_int8, in a VM) the first decode
then crashes the process with a segmentation fault (SmolLM2 Q4_1, llama-cpp-python 0.3.36). Loading without
llama.cpp's extra buffer types (`use_extra_bufts = False`) runs the same weights through the ordinary AVX-512
kernels and gives the same text. Hearth does that wherever the CPU reports AMX, unless the caller passes
amx=True (the llama_amx setting, for a machine where AMX is known to work).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

__all__ = ["open_llama", "cpu_has_amx", "amx_repack_off", "gpu_offload_supported"]

log = logging.getLogger(__name__)

_load_lock = threading.Lock()


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


def amx_repack_off(amx: bool = False) -> bool:
    """Whether models load without llama.cpp's extra (AMX) buffer types: on an AMX CPU, unless amx is asked for."""
    return cpu_has_amx() and not amx


def _without_extra_bufts(defaults):
    """llama_model_default_params() with use_extra_bufts off."""
    def model_params():
        params = defaults()
        params.use_extra_bufts = False
        return params
    return model_params


def open_llama(model_path: Path | str, *, amx: bool = False, **kwargs):
    """llama_cpp.Llama(model_path, **kwargs), with this machine's work-arounds (amx: keep llama.cpp's AMX
    buffers on a CPU that has them)."""
    import llama_cpp.llama_cpp as lib
    from llama_cpp import Llama

    if not amx_repack_off(amx):
        return Llama(str(model_path), **kwargs)
    defaults = lib.llama_model_default_params
    with _load_lock:  # Llama() reads its defaults from here while it loads; put them back after
        lib.llama_model_default_params = _without_extra_bufts(defaults)
        try:
            return Llama(str(model_path), **kwargs)
        finally:
            lib.llama_model_default_params = defaults


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can put layers on a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def main(argv: list[str] | None = None) -> None:
    """`python -m engine.llamacpp [--llama-amx] --model M.gguf ...`: llama-cpp-python's OpenAI-compatible
    server (`python -m llama_cpp.server`, same arguments) with the work-arounds above; --llama-amx keeps AMX."""
    import runpy
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    amx = "--llama-amx" in args
    args = [a for a in args if a != "--llama-amx"]
    if amx_repack_off(amx):
        import llama_cpp.llama_cpp as lib

        lib.llama_model_default_params = _without_extra_bufts(lib.llama_model_default_params)  # for good
        log.info("cpu reports amx: serving without llama.cpp's extra buffer types (--llama-amx keeps them)")
    sys.argv = ["llama_cpp.server", *args]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
