"""Dependencies point one way: app -> rag, guard. rag and guard never import app or gradio."""

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("package,forbidden", [
    ("rag", ["app", "gradio", "guard"]),
    ("guard", ["app", "gradio", "rag"]),
])
def test_core_packages_do_not_depend_on_the_app(package, forbidden):
    code = (f"import sys, {package}; "
            f"bad = [m for m in {forbidden!r} if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f"{package} imports {r.stdout} {r.stderr}"


def test_importing_the_cli_loads_no_models_or_heavy_libraries():
    code = ("import sys, app.cli, app.hearth; heavy = [m for m in ('torch', 'gradio', 'chromadb', 'llama_cpp', "
            "'sentence_transformers') if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f"imported at start-up: {r.stdout} {r.stderr}"
