"""Who imports whom, read from the import statements themselves (ast), so an import inside a function cannot hide
a wrong arrow: core <- engine <- guard; core <- rag; app over all of them; evaluation over app. No cycles."""

import ast
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGES = ("core", "engine", "rag", "guard", "app", "evaluation")
# What each package may import of ours, besides itself.
ALLOWED = {
    "core": set(),
    "engine": {"core"},
    "rag": {"core"},
    "guard": {"core", "engine"},
    "app": {"core", "engine", "rag", "guard"},
    "evaluation": {"core", "engine", "rag", "guard", "app"},
}
NO_UI = ("core", "engine", "rag", "guard")  # the core packages never import the page's library


def modules() -> dict[str, object]:
    out = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            name = ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = f
    return out


def imports(name: str, path) -> set[str]:
    """Every module name an import statement in the file names (absolute, relative ones resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(parts + ([base] if base else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return found


def edges() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (a name is resolved to the longest module it is in)."""
    mods = modules()
    out = {}
    for name, path in mods.items():
        targets = set()
        for target in imports(name, path):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        out[name] = targets
    return out


def test_every_arrow_points_down():
    wrong = [f"{m} imports {t}" for m, ts in edges().items() for t in ts
             if t.split(".")[0] not in ALLOWED[m.split(".")[0]] | {m.split(".")[0]}]
    assert not wrong, wrong


@pytest.mark.parametrize("package", NO_UI)
def test_core_packages_never_import_the_page_library(package):
    mods = modules()
    bad = [m for m in mods if m.split(".")[0] == package and any(
        i.split(".")[0] == "gradio" for i in imports(m, mods[m]))]
    assert not bad, bad


def test_no_import_cycles_between_modules():
    """Package __init__ re-exports are left out: an arrow into a package means its parts."""
    mods = modules()
    graph = {m: {t for t in ts if mods[t].name != "__init__.py"} for m, ts in edges().items()}
    state, cycles = {}, []

    def visit(m, path):
        state[m] = "open"
        for t in graph[m]:
            if state.get(t) == "open":
                cycles.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from app.hearth import Hearth\n    from .sibling import x\n")
    assert {"app.hearth", "app.hearth.Hearth", "rag.sibling", "rag.sibling.x"} <= imports("rag.m", f)


def test_importing_the_cli_loads_no_models_or_heavy_libraries():
    code = ("import sys, app.cli, app.hearth; heavy = [m for m in ('torch', 'gradio', 'chromadb', 'llama_cpp', "
            "'sentence_transformers', 'matplotlib') if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f"imported at start-up: {r.stdout} {r.stderr}"
