"""The Hugging Face Space: the README front matter names this file as app_file.

Spaces runs `python packaging/spaces/app.py` from the repository root after installing
requirements.txt and downloading the models listed under preload_from_hub. Importing this module
builds the page (`demo`, as Gradio expects) without starting it or loading any model; running it
starts the server. Everything a visitor uploads lives in a private collection that is deleted when
the visitor leaves (Spaces mode, app/settings.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # Spaces installs requirements.txt, not this project: import it from here
    sys.path.insert(0, str(ROOT))

# The models the front matter preloads (repo, file, revision); the README test holds the two in step.
CHAT_MODEL = ("Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf",
              "91cad51170dc346986eccefdc2dd33a9da36ead9")
GUARD_MODEL = ("bartowski/Llama-Guard-3-1B-GGUF", "Llama-Guard-3-1B-Q4_K_M.gguf", None)

# CPU basic (2 vCPU, 16 GB): two threads, a public demo that fails closed without Llama Guard, shorter
# answers. Variables set in the Space's settings win over these.
SPACES_DEFAULTS = {
    "HEARTH_MODE": "spaces",
    "HEARTH_N_THREADS": "2",
    "HEARTH_REQUIRE_LLAMA_GUARD": "true",
    "HEARTH_MAX_TOKENS": "384",
    "HEARTH_N_CTX": "4096",
    "HEARTH_OPEN_BROWSER": "false",
    "HEARTH_DATA_DIR": "/tmp/hearth",  # a Space's disk is not kept across restarts anyway
}


def preloaded(repo: str, filename: str, revision: str | None) -> str | None:
    """The path of a file preload_from_hub put in the Hugging Face cache, or None (never downloads)."""
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo, filename, revision=revision, local_files_only=True)
    except Exception:  # not preloaded (running outside Spaces): the settings say what is missing
        return None


def space_environment(environ=os.environ) -> dict[str, str]:
    """The HEARTH_* variables this Space runs with: its defaults, the preloaded models, then the Space's own."""
    values = dict(SPACES_DEFAULTS)
    for key, spec in (("HEARTH_MODEL", CHAT_MODEL), ("HEARTH_GUARD_MODEL", GUARD_MODEL)):
        path = preloaded(*spec)
        if path:
            values[key] = path
    values.update({k: v for k, v in environ.items() if k.startswith("HEARTH_") and v != ""})
    return values


os.environ.update(space_environment())

from app.hearth import Hearth  # noqa: E402 (after the environment is set)
from app.settings import load_settings  # noqa: E402
from app.web.page import build_ui  # noqa: E402

settings = load_settings()
hearth = Hearth(settings)
demo = build_ui(hearth)

if __name__ == "__main__":
    from app.web.server import serve

    serve(hearth, demo=demo)
