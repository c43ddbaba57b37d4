"""engine.llamacpp: every GGUF Hearth opens goes through open_llama, which turns llama.cpp's AMX weight buffers
off on CPUs that report AMX (they crashed the first decode here: a Xeon with amx_int8, in a VM)."""

import os
import subprocess
import sys

import pytest

from engine import llamacpp


def test_the_real_gguf_generates_through_open_llama(smollm_path):
    """On an AMX CPU a plain Llama() of this llama.cpp build segfaults here; through open_llama it answers."""
    code = ("from engine.llamacpp import open_llama, amx_repack_off\n"
            f"llm = open_llama({str(smollm_path)!r}, n_ctx=512, n_threads=2, verbose=False)\n"
            "out = llm.create_chat_completion([{'role': 'user', 'content': 'Say hi'}], max_tokens=8)\n"
            "import llama_cpp.llama_cpp as lib\n"
            "print(amx_repack_off(), llm.model_params.use_extra_bufts, lib.llama_model_default_params().use_extra_bufts,"
            " bool(out['choices'][0]['message']['content'].strip()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ)
    assert out.returncode == 0, out.stderr[-2000:]
    off, extra, default_after, answered = out.stdout.split()
    assert answered == "True"
    assert extra == ("False" if off == "True" else "True")  # AMX CPU: extra buffers off; elsewhere untouched
    assert default_after == "True"  # llama.cpp's defaults are put back after the load
    assert off == str(llamacpp.cpu_has_amx())


def test_amx_repacking_is_off_only_where_the_cpu_has_amx_unless_asked_for(monkeypatch):
    monkeypatch.setattr(llamacpp, "cpu_has_amx", lambda: True)
    assert llamacpp.amx_repack_off() and llamacpp.amx_repack_off(False)
    assert not llamacpp.amx_repack_off(True)
    monkeypatch.setattr(llamacpp, "cpu_has_amx", lambda: False)
    assert not llamacpp.amx_repack_off() and not llamacpp.amx_repack_off(True)


def test_the_amx_switch_is_a_setting_and_junk_is_refused():
    from app.settings import SettingsError, load_settings

    assert load_settings(environ={}).llama_amx is False
    assert load_settings(environ={"HEARTH_LLAMA_AMX": "true"}).llama_amx is True
    with pytest.raises(SettingsError, match="llama_amx"):
        load_settings(environ={"HEARTH_LLAMA_AMX": "banana"})


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


@pytest.mark.parametrize("caller", ["engine/chat.py", "engine/gpu.py", "guard/llama_guard.py"])
def test_hearth_opens_models_only_through_open_llama(caller):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / caller).read_text()
    assert "open_llama(" in text and "Llama(str(" not in text
