"""app.llamacpp: every GGUF Hearth opens goes through open_llama, which turns llama.cpp's AMX weight buffers
off on CPUs that report AMX (they crashed the first decode here: a Xeon with amx_int8, in a VM)."""

import os
import subprocess
import sys

import pytest

from app import llamacpp


def test_the_real_gguf_generates_through_open_llama(smollm_path):
    """On an AMX CPU a plain Llama() of this llama.cpp build segfaults here; through open_llama it answers."""
    code = ("from app.llamacpp import open_llama, amx_repack_off\n"
            f"llm = open_llama({str(smollm_path)!r}, n_ctx=512, n_threads=2, verbose=False)\n"
            "out = llm.create_chat_completion([{'role': 'user', 'content': 'Say hi'}], max_tokens=8)\n"
            "import llama_cpp.llama_cpp as lib\n"
            "print(amx_repack_off(), lib.llama_model_default_params().use_extra_bufts, "
            "bool(out['choices'][0]['message']['content'].strip()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HEARTH_LLAMA_AMX": ""})
    assert out.returncode == 0, out.stderr[-2000:]
    off, extra, answered = out.stdout.split()
    assert answered == "True"
    assert extra == ("False" if off == "True" else "True")  # AMX CPU: extra buffers off; elsewhere untouched
    assert off == str(llamacpp.cpu_has_amx())


def test_amx_repacking_is_off_only_where_the_cpu_has_amx_unless_asked_for(monkeypatch):
    monkeypatch.delenv("HEARTH_LLAMA_AMX", raising=False)
    monkeypatch.setattr(llamacpp, "cpu_has_amx", lambda: True)
    assert llamacpp.amx_repack_off()
    monkeypatch.setenv("HEARTH_LLAMA_AMX", "1")
    assert not llamacpp.amx_repack_off()
    monkeypatch.setenv("HEARTH_LLAMA_AMX", "banana")  # junk keeps the safe choice
    assert llamacpp.amx_repack_off()
    monkeypatch.setattr(llamacpp, "cpu_has_amx", lambda: False)
    monkeypatch.delenv("HEARTH_LLAMA_AMX")
    assert not llamacpp.amx_repack_off()


def test_cpu_has_amx_reads_the_flags_line(tmp_path, monkeypatch):
    import builtins

    cpuinfo = tmp_path / "cpuinfo"
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: real_open(cpuinfo if f == "/proc/cpuinfo" else f, *a, **k))
    for flags, expected in (("fpu avx512f amx_bf16 amx_tile amx_int8 avx_vnni", True), ("fpu avx2 fma", False)):
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        llamacpp.cpu_has_amx.cache_clear()
        assert llamacpp.cpu_has_amx() is expected
    cpuinfo.unlink()  # unreadable (not Linux, say): no AMX assumed
    llamacpp.cpu_has_amx.cache_clear()
    assert llamacpp.cpu_has_amx() is False
    llamacpp.cpu_has_amx.cache_clear()


@pytest.mark.parametrize("caller", ["app/runtime.py", "guard/llama_guard.py"])
def test_hearth_opens_models_only_through_open_llama(caller):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / caller).read_text()
    assert "open_llama(" in text and "Llama(str(" not in text
