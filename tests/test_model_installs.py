"""Installing models: the real download code against a local server that answers like the hub's resolve endpoint
(Range, a cut connection, a wrong file, a server error), and `hearth models add|use|remove|list`."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app.services import downloads
from app.services.models import ModelSpec
from core.errors import DownloadCancelled, DownloadError, LimitError
from tests.conftest import ctrl_c_able, run_cli
from tests.model_files import Hub, tiny_gguf


@pytest.fixture(scope="module")
def gguf_bytes(tmp_path_factory) -> bytes:
    return tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf").read_bytes()


@pytest.fixture
def hub(gguf_bytes):
    server = Hub({"acme/Tiny-GGUF/resolve/main/tiny-q4.gguf": gguf_bytes})
    yield server
    server.close()


@pytest.fixture
def spec(gguf_bytes) -> ModelSpec:
    return ModelSpec("tiny-chat", "chat", "a tiny test model", repo="acme/Tiny-GGUF", filename="tiny-q4.gguf",
                     size_bytes=len(gguf_bytes), sha256=hashlib.sha256(gguf_bytes).hexdigest())


def test_download_reports_progress_and_checks_the_file(tmp_path, hub, spec, gguf_bytes):
    seen = []
    path = downloads.download(spec, tmp_path, progress=seen.append, endpoint=hub.url, chunk=64 * 1024)
    assert path == tmp_path / "tiny-q4.gguf" and path.read_bytes() == gguf_bytes
    assert not downloads.part_path(path).exists()
    assert len(seen) > 5 and seen[-1].done == seen[-1].total == len(gguf_bytes)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].bytes_per_s > 0 and seen[-1].eta_s == 0


def test_hf_endpoint_is_honoured_and_the_hub_sha256_checked_when_none_is_pinned(tmp_path, hub, spec, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url + "/")
    assert downloads.file_url(spec) == f"{hub.url}/acme/Tiny-GGUF/resolve/main/tiny-q4.gguf"
    path = downloads.download(replace(spec, sha256=None), tmp_path)
    assert path.is_file()


def test_a_cut_connection_is_resumed_with_a_range_request(tmp_path, hub, spec, gguf_bytes):
    hub.cut_after = 300_000
    path = downloads.download(spec, tmp_path, endpoint=hub.url, chunk=64 * 1024)
    assert path.read_bytes() == gguf_bytes
    assert hub.ranges[0] is None and hub.ranges[1].startswith("bytes=") and int(hub.ranges[1][6:-1]) > 0


def test_cancel_keeps_the_part_file_and_the_next_pull_resumes_it(tmp_path, hub, spec, gguf_bytes):
    stop = threading.Event()

    def progress(p):
        if p.done >= 200_000:
            stop.set()

    with pytest.raises(DownloadCancelled, match="tiny-chat: download cancelled"):
        downloads.download(spec, tmp_path, progress=progress, cancel=stop, endpoint=hub.url, chunk=64 * 1024)
    part = tmp_path / "tiny-q4.gguf.part"
    kept = part.stat().st_size
    assert 0 < kept < len(gguf_bytes) and not (tmp_path / "tiny-q4.gguf").exists()
    path = downloads.download(spec, tmp_path, endpoint=hub.url)
    assert path.read_bytes() == gguf_bytes and not part.exists()
    assert hub.ranges[-1] == f"bytes={kept}-"


def test_a_wrong_sha256_deletes_the_file_and_says_so(tmp_path, hub, spec):
    with pytest.raises(DownloadError, match="tiny-chat.*sha256.*deleted"):
        downloads.download(replace(spec, sha256="0" * 64), tmp_path, endpoint=hub.url)
    assert list(tmp_path.iterdir()) == []


def test_a_server_error_names_the_model_and_status(tmp_path, hub, spec):
    hub.status = 500
    with pytest.raises(DownloadError, match="could not download tiny-chat: the hub answered 500"):
        downloads.download(spec, tmp_path, endpoint=hub.url)
    assert not (tmp_path / "tiny-q4.gguf").exists()


def test_offline_says_to_add_the_file_by_hand(tmp_path, spec):
    with pytest.raises(DownloadError, match="hearth models add PATH"):
        downloads.download(spec, tmp_path, endpoint="http://127.0.0.1:9")


def test_not_enough_disk_is_refused_before_downloading(tmp_path, hub, spec, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(LimitError, match=f"tiny-chat needs .* GiB free in {tmp_path}"):
        downloads.download(spec, tmp_path, endpoint=hub.url)
    assert hub.ranges == []


# -- hearth models add | use | remove | list ---------------------------------------------------------------------

def hearth(*args, **kw):
    return run_cli(*args, timeout=300, **kw)


def models_list() -> dict:
    r = hearth("models", "list", "--json")
    assert r.returncode == 0, r.stderr
    return {m["name"]: m for m in json.loads(r.stdout)}


def test_add_use_remove_a_chat_model(tmp_path):
    source = tiny_gguf(tmp_path / "Tiny-Chat-Q8.gguf")
    r = hearth("models", "add", "--json", str(source))
    assert r.returncode == 0, r.stderr
    added = json.loads(r.stdout)[0]
    assert added["name"] == "Tiny-Chat-Q8" and added["kind"] == "chat"
    assert Path(added["path"]).parent == tmp_path / "data" / "models" and source.exists()  # copied, not moved
    listed = models_list()
    assert listed["Tiny-Chat-Q8"]["installed"] and listed["Tiny-Chat-Q8"]["added"]
    assert listed["smollm2-135m-instruct"]["in_use"] == "chat"

    r = hearth("models", "use", "tiny-chat-q8")
    assert r.returncode == 0 and "now using Tiny-Chat-Q8 as the chat model" in r.stdout, r.stderr
    assert models_list()["Tiny-Chat-Q8"]["in_use"] == "chat"  # remembered for the next start
    r = hearth("models", "remove", "Tiny-Chat-Q8")
    assert r.returncode == 2 and "in use as the chat model" in r.stderr and "Traceback" not in r.stderr

    assert hearth("models", "use", "smollm2-135m-instruct").returncode == 0
    r = hearth("models", "remove", "Tiny-Chat-Q8")
    assert r.returncode == 0 and "removed Tiny-Chat-Q8" in r.stdout, r.stderr
    assert "Tiny-Chat-Q8" not in models_list() and not Path(added["path"]).exists()


def test_add_refuses_what_is_not_a_gguf_or_already_there(tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_bytes(b"not a model at all" * 100)
    r = hearth("models", "add", str(bad))
    assert r.returncode == 2 and "is not a GGUF model llama.cpp can read" in r.stderr
    assert not (tmp_path / "data" / "models" / "notes.gguf").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = hearth("models", "add", str(empty))
    assert r.returncode == 1 and "holds no .gguf file" in r.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    tiny_gguf(folder / "a.gguf")
    assert hearth("models", "add", str(folder)).returncode == 0
    r = hearth("models", "add", str(folder / "a.gguf"))
    assert r.returncode == 2 and "already in" in r.stderr


def test_a_chat_model_is_not_added_or_used_as_a_guard(tmp_path, smollm_path):
    fake = tmp_path / "Llama-Guard-3-1B-fake.gguf"
    shutil.copyfile(smollm_path, fake)
    r = hearth("models", "add", str(fake))  # its name says guard: it must load and verify as one
    assert r.returncode == 1 and "was not added as a guard" in r.stderr and "Traceback" not in r.stderr
    assert not list((tmp_path / "data" / "models").glob("*.gguf"))
    r = hearth("models", "use", "--guard", str(smollm_path))
    assert r.returncode == 1 and "the guard stays as it was" in r.stderr
    r = hearth("models", "remove", "smollm2-135m-instruct")
    assert r.returncode == 2 and "only downloaded or added ones are removed" in r.stderr
    r = hearth("models", "use", "llama-guard-3-1b")
    assert r.returncode == 1 and "not installed; run `hearth models pull llama-guard-3-1b`" in r.stderr


# -- the guard: switching it, Qwen3Guard ------------------------------------------------------------------------

class FakeGuard:
    """Stands in for a loaded guard model (no guard weights can be installed here)."""
    available, strict, reason = True, False, ""

    def __init__(self, path, variant="qwen3guard"):
        self.model_path, self.variant, self.closed = Path(path), variant, False

    def close(self):
        self.closed = True


def test_switch_guard_replaces_the_part_and_closes_the_old_one(settings, tmp_path, monkeypatch):
    from app.hearth import Hearth
    from app.services import guarding

    old = FakeGuard(tmp_path / "old.gguf", "llama-guard-3-1b")
    h = Hearth(settings)
    h.llama_guard = old
    monkeypatch.setattr(guarding, "open_guard", lambda s, **kw: FakeGuard(s.guard_model))
    status = guarding.switch_guard(h, tmp_path / "Qwen3Guard-Gen-0.6B.Q4_K_M.gguf")
    assert old.closed and h.llama_guard.model_path.name == "Qwen3Guard-Gen-0.6B.Q4_K_M.gguf"
    assert status["variant"] == "qwen3guard" and status["title"] == "Qwen3Guard"
    assert status["mode"] == "keyword filter + Qwen3Guard"
    assert h.settings.guard_model == tmp_path / "Qwen3Guard-Gen-0.6B.Q4_K_M.gguf"


def test_an_installed_qwen3guard_is_the_guard_hearth_opens(settings):
    from app.services.guarding import guard_path
    from app.services.models import REGISTRY, models_dir

    folder = models_dir(settings.data_dir)
    folder.mkdir(parents=True)
    (folder / REGISTRY["qwen3guard-gen-0.6b"].filename).write_bytes(b"GGUF")
    assert guard_path(settings).name == "Qwen3Guard-Gen-0.6B.Q4_K_M.gguf"


@pytest.mark.parametrize("lang, chinese_docs, name, why", [
    ("en", False, "llama-guard-3-1b", "default"),
    (None, False, "llama-guard-3-1b", "default"),
    ("zh-CN", False, "qwen3guard-gen-0.6b", "the page is in Chinese"),
    ("zh_TW", False, "qwen3guard-gen-0.6b", "the page is in Chinese"),
    ("en-US", True, "qwen3guard-gen-0.6b", "your documents are in Chinese"),
])
def test_recommend_guard(lang, chinese_docs, name, why):
    from app.services.guarding import recommend_guard

    rec = recommend_guard(lang, chinese_docs)
    assert rec["name"] == name and why in rec["reason"]


def test_has_chinese():
    from app.services.guarding import has_chinese

    assert has_chinese("2023年第三季度财务报告.pdf") and has_chinese("苹果公司 10-Q")
    assert not has_chinese("aapl-2022-q3-10q.pdf") and not has_chinese("") and not has_chinese("Apple 苹 report")


def test_doctor_recommends_a_guard():
    r = hearth("doctor", "--json", env={"LANG": "zh_CN.UTF-8", "LC_ALL": ""})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["recommended_guard"]["name"] == "qwen3guard-gen-0.6b"
    r = hearth("doctor", env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
    assert "guard advice  llama-guard-3-1b" in r.stdout


def test_v1_models_tells_what_is_in_use_and_installed(hearth):
    from app.api.keys import Access
    from app.api.routes import Api

    data = {m["id"]: m for m in Api(hearth).models(Access(None))["data"]}
    chat = data["hearth"]["hearth"]
    assert chat["model"] == "smollm2-135m-instruct" and chat["guard"] is None
    assert "smollm2-135m-instruct" in chat["installed"] and chat["guards_installed"] == []
    assert data["hearth-rag"]["hearth"] == chat
    assert data["hearth-embed"]["hearth"]["installed"] == ["all-minilm-l6-v2"]


def test_pull_from_a_hub_mirror_through_the_cli(gguf_bytes, tmp_path):
    """HF_ENDPOINT pointed at the local hub: a registry guard without a pinned sha256 is checked against the
    hub's LFS record; a pinned one that does not match is deleted with a clear message."""
    from app.services.models import REGISTRY

    guard, chat = REGISTRY["llama-guard-3-1b"], REGISTRY["qwen2.5-1.5b-instruct"]
    server = Hub({f"{guard.repo}/resolve/main/{guard.filename}": gguf_bytes,
                  f"{chat.repo}/resolve/{chat.revision}/{chat.filename}": gguf_bytes})
    try:
        r = hearth("models", "pull", "llama-guard-3-1b", env={"HF_ENDPOINT": server.url})
        assert r.returncode == 0 and "llama-guard-3-1b installed at" in r.stdout, r.stderr
        assert (tmp_path / "data" / "models" / guard.filename).read_bytes() == gguf_bytes
        assert models_list()["llama-guard-3-1b"]["installed"]
        r = hearth("models", "pull", "qwen2.5-1.5b-instruct", env={"HF_ENDPOINT": server.url})
        assert r.returncode == 1 and "sha256" in r.stderr and "deleted" in r.stderr and "Traceback" not in r.stderr
        assert not list((tmp_path / "data" / "models").glob("qwen2.5*"))
    finally:
        server.close()


# -- the page's Models tab and the advice behind it --------------------------------------------------------------

def test_fit_says_where_a_model_runs_and_why():
    from app.services.advice import fit
    from app.services.models import REGISTRY

    spec, GiB = REGISTRY["qwen2.5-7b-instruct"], 2**30
    ok, why = fit(spec, ram=64 * GiB, free_vram=80 * GiB, offload=True, n_ctx=4096)
    assert ok and why.startswith("GPU, fast: all 28 layers")
    ok, why = fit(spec, ram=64 * GiB, free_vram=3 * GiB, offload=True, n_ctx=4096)
    assert ok and why.startswith("GPU and CPU, medium:") and "of 28 layers" in why
    ok, why = fit(spec, ram=4 * GiB, free_vram=None, offload=False, n_ctx=4096)
    assert not ok and "too large" in why
    ok, why = fit(REGISTRY["qwen2.5-1.5b-instruct"], ram=16 * GiB, free_vram=80 * GiB, offload=False, n_ctx=4096)
    assert ok and why.startswith("CPU, usable")


def test_progress_and_machine_text():
    from app.web.models_tab import machine_text, progress_text

    p = downloads.Progress("llama-guard-3-1b", 512 * 2**20, 1024 * 2**20, 8 * 2**20, 64.0)
    assert progress_text(p) == "**llama-guard-3-1b**: 512 of 1,024 MiB (50%), 8.0 MiB/s, about 64 s left"
    text = machine_text({"cores": 2, "ram_bytes": 8 * 2**30, "offload": False, "gpus": []})
    assert "2 CPU cores, 8 GiB RAM" in text and "GPUs: none" in text and "CPU only" in text


def _handler(demo, api_name):
    return next(f.fn for f in demo.fns.values() if f.api_name == api_name)


def test_models_tab_installs_uses_and_lists(hearth, gguf_bytes, monkeypatch):
    import gradio as gr

    from app.services.models import REGISTRY
    from app.web.page import build_ui

    guard = REGISTRY["llama-guard-3-1b"]
    server = Hub({f"{guard.repo}/resolve/main/{guard.filename}": gguf_bytes})
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    try:
        demo = build_ui(hearth)
        assert any(isinstance(b, gr.Tab) and b.elem_id == "models-tab" for b in demo.blocks.values())
        assert not hearth.llama_guard.available  # the first run: no guard model (the page has warmed it up)
        messages = list(_handler(demo, "models_install")("llama-guard-3-1b"))
        assert messages[-1].startswith("**llama-guard-3-1b** is installed")
        assert "the guard stays as it was" in messages[-1]  # switched to at once, but random weights fail the check
        assert (hearth.settings.data_dir / "models" / guard.filename).is_file()
        with pytest.raises(gr.Error, match="the guard stays as it was"):
            _handler(demo, "models_use")("llama-guard-3-1b")  # random weights: not a guard, refused
        assert _handler(demo, "models_remove")("llama-guard-3-1b") == "Removed llama-guard-3-1b."
        assert _handler(demo, "models_cancel")("llama-guard-3-1b") == "No download of that model is under way."
    finally:
        server.close()


def test_models_tab_is_desktop_only(hearth):
    import gradio as gr

    from app.web.page import build_ui

    hearth.settings = hearth.settings.model_copy(update={"mode": "spaces"})
    demo = build_ui(hearth)
    assert not any(isinstance(b, gr.Tab) and b.elem_id == "models-tab" for b in demo.blocks.values())
    assert not any(f.api_name in ("install_guard", "install_chat") for f in demo.fns.values())  # nothing installs


def test_installing_a_guard_on_the_first_run_switches_to_it(settings, gguf_bytes, monkeypatch):
    from app.hearth import Hearth
    from app.services import guarding, installs
    from app.services.models import REGISTRY

    guard = REGISTRY["llama-guard-3-1b"]
    server = Hub({f"{guard.repo}/resolve/main/{guard.filename}": gguf_bytes})
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(guarding, "open_guard", lambda s, **kw: FakeGuard(s.guard_model, "llama-guard-3-1b"))
    h = Hearth(settings)
    try:
        seen = []
        result = installs.install(h, "llama-guard-3-1b", progress=seen.append)
        assert result["in_use"] == "guard" and h.llama_guard.model_path.name == guard.filename and seen
        assert installs.in_use(h)["guard"] == (settings.data_dir / "models" / guard.filename).resolve()
        assert installs.install(h, "llama-guard-3-1b")["in_use"] is None  # a working guard is left alone
    finally:
        server.close()
        h.close()


def test_ctrl_c_cancels_a_pull_cleanly_and_a_rerun_resumes(gguf_bytes, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from app.services.models import REGISTRY
    from tests.conftest import ROOT

    guard = REGISTRY["llama-guard-3-1b"]
    server = Hub({f"{guard.repo}/resolve/main/{guard.filename}": gguf_bytes})
    server.slow = True
    part = tmp_path / "data" / "models" / (guard.filename + ".part")
    env = {**os.environ, "HF_ENDPOINT": server.url}
    try:
        proc = subprocess.Popen([sys.executable, "-m", "app", "models", "pull", "llama-guard-3-1b"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_able)
        deadline = time.monotonic() + 120
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1 and "download cancelled" in err and "Traceback" not in err, err
        kept = part.stat().st_size
        assert 0 < kept < len(gguf_bytes)
        server.slow = False
        r = hearth("models", "pull", "llama-guard-3-1b", env={"HF_ENDPOINT": server.url})
        assert r.returncode == 0, r.stderr
        assert server.ranges[-1] == f"bytes={kept}-" and not part.exists()
        assert (tmp_path / "data" / "models" / guard.filename).read_bytes() == gguf_bytes
    finally:
        server.close()


def test_the_same_file_is_not_downloaded_twice_at_once(tmp_path, hub, spec):
    from core.errors import InputError

    second = []

    def progress(p):
        if not second:
            with pytest.raises(InputError, match="tiny-chat is being downloaded already"):
                downloads.download(spec, tmp_path, endpoint=hub.url)
            second.append(True)

    assert downloads.download(spec, tmp_path, progress=progress, endpoint=hub.url).is_file() and second
