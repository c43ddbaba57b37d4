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
