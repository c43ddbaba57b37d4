"""The README's two set-up commands are real: CI runs the test one verbatim."""

import re

from conftest import ROOT


def readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- (run|test) command -->\s*```(?:bash|sh)\n(.*?)```", text, re.S)
    return {kind: body.strip() for kind, body in blocks}


def test_readme_has_a_run_command_and_a_test_command():
    cmds = readme_commands()
    assert set(cmds) == {"run", "test"}
    assert "pip install torch==2.13.0" in cmds["run"] and cmds["run"].rstrip().endswith("hearth")
    assert "pytest" in cmds["test"]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()["test"] in ci


def test_the_python_example_runs(tmp_path):
    """The README's "From Python" block, run as written (its data dir moved into tmp_path)."""
    import subprocess
    import sys

    from conftest import make_pdf

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    [code] = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "from app.hearth import Hearth" in b]
    make_pdf(tmp_path / "report.pdf", ["Revenue was 42 million dollars in the quarter."])
    code = code.replace('"/tmp/hearth"', repr(str(tmp_path / "data")))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "report.pdf" in r.stdout and "'layer': 'keyword'" in r.stdout
