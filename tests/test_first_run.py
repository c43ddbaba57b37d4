"""The first run: while no guard model is installed the page offers Llama Guard 3 1B (and the chat model recommended
for this machine); installing it through the real download code, from a local hub, switches it in without a
restart, so the next turn carries its verdict. The guard served is tiny_llama_guard: a real GGUF that loads and
verifies as Llama Guard 3 and answers every check through llama.cpp."""

from __future__ import annotations

import pytest

from app.services import advice, first_run, installs
from app.services.install_jobs import InstallJobs
from app.services.models import REGISTRY
from tests.model_files import Hub, tiny_gguf, tiny_llama_guard

GUARD = REGISTRY["llama-guard-3-1b"]


@pytest.fixture(scope="module")
def guard_bytes(tmp_path_factory) -> bytes:
    return tiny_llama_guard(tmp_path_factory.mktemp("guard") / GUARD.filename).read_bytes()


@pytest.fixture
def hub(guard_bytes, monkeypatch):
    server = Hub({f"{GUARD.repo}/resolve/main/{GUARD.filename}": guard_bytes})
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.close()


def finish(jobs: InstallJobs, job):
    """Watch a job to its end (as the page does) and return every state seen."""
    return [(j.progress, j.result, j.error) for j in jobs.watch(job, every_s=0.05)]


def guard_checks(result) -> list[tuple[str, str]]:
    return [(c.stage, c.status) for c in result.checks if c.layer == "llama_guard"]


def test_the_served_guard_is_accepted_as_llama_guard_3(tmp_path, guard_bytes):
    from guard import LlamaGuard

    path = tmp_path / GUARD.filename
    path.write_bytes(guard_bytes)
    guard = LlamaGuard(path, n_ctx=2048, n_threads=2)  # the product's checks: verify_model, min_format_mass
    try:
        verdict = guard.check([("user", "What were Apple's net sales?")])
    finally:
        guard.close()
    assert guard.variant == "llama-guard-3-1b" and verdict.status == "passed" and verdict.score < 0.01


def test_strict_blocks_until_the_guard_installed_from_the_page_checks_the_turn(settings, embedder, chat_model, hub):
    from app.hearth import Hearth

    h = Hearth(settings.model_copy(update={"require_llama_guard": True, "max_tokens": 16}), embedder=embedder,
               chat_model=chat_model)
    try:
        offer = first_run.offers(h)
        assert offer["guard"] == {"name": "llama-guard-3-1b", "size": "about 1 GB"} and offer["strict"]
        before = h.ask("What is a dividend?")
        assert before.blocked and guard_checks(before) == [("question", "blocked")]

        jobs = InstallJobs(h)
        seen = finish(jobs, first_run.start(h, jobs, "guard"))
        progress, result, error = seen[-1]
        assert error is None and result["in_use"] == "guard", seen[-1]
        assert progress.done == progress.total == len(hub.files[next(iter(hub.files))])
        assert h.llama_guard.available and h.llama_guard.variant == "llama-guard-3-1b"
        assert first_run.offers(h)["guard"] is None  # the warning's offer is gone

        after = h.ask("What is a dividend?")  # the next turn, no restart
        assert not after.blocked and guard_checks(after) == [("question", "passed"), ("answer", "passed")]
    finally:
        h.close()


def test_cancel_keeps_what_arrived_and_install_resumes_it(settings, hub):
    from app.hearth import Hearth

    hub.slow = True
    h = Hearth(settings)
    jobs = InstallJobs(h)
    try:
        job = first_run.start(h, jobs, "guard")
        again = first_run.start(h, jobs, "guard")
        assert again is job  # one download per model, watched from every page
        for state in jobs.watch(job, every_s=0.05):
            if state.progress and state.progress.done > 0:
                assert jobs.cancel() == ["llama-guard-3-1b"]
                break
        finish(jobs, job)
        assert job.cancel.is_set() and "download cancelled" in job.error and job.result is None
        part = settings.data_dir / "models" / (GUARD.filename + ".part")
        kept = part.stat().st_size
        assert kept > 0 and jobs.cancel() == []

        hub.slow = False
        job = first_run.start(h, jobs, "guard")
        finish(jobs, job)
        assert job.error is None and job.result["in_use"] == "guard" and hub.ranges[-1] == f"bytes={kept}-"
    finally:
        h.close()


def test_a_failed_download_says_why(settings, hub):
    from app.hearth import Hearth

    hub.status = 500
    h = Hearth(settings)
    try:
        jobs = InstallJobs(h)
        job = first_run.start(h, jobs, "guard")
        finish(jobs, job)
        assert "could not download llama-guard-3-1b: the hub answered 500" in job.error
        assert not h.llama_guard.available and first_run.offers(h)["guard"] is not None
    finally:
        h.close()


def test_the_recommended_chat_model_is_offered_installed_and_used(settings, tmp_path, monkeypatch):
    """An 8-core, 16 GiB machine (the facts are set: this one has 2 cores) is offered Qwen2.5 3B beside the guard;
    installing it switches the chat model. Nothing is offered where SmolLM2 is the best fit or another model is used."""
    from app.hearth import Hearth

    chat = REGISTRY["qwen2.5-3b-instruct"]
    server = Hub({f"{chat.repo}/resolve/main/{chat.filename}": tiny_gguf(tmp_path / "tiny.gguf").read_bytes()})
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    h = Hearth(settings)
    try:
        monkeypatch.setattr(advice, "machine", lambda gpus: {"cores": 2, "ram_bytes": 8 * 2**30, "offload": False,
                                                              "gpus": []})
        assert first_run.offers(h)["chat"] is None  # the embedded SmolLM2 is the best fit here
        monkeypatch.setattr(advice, "machine", lambda gpus: {"cores": 8, "ram_bytes": 16 * 2**30, "offload": False,
                                                              "gpus": []})
        offer = first_run.offers(h)["chat"]
        assert offer["name"] == "qwen2.5-3b-instruct" and "8 CPU cores" in offer["reason"]
        jobs = InstallJobs(h)
        job = first_run.start(h, jobs, "chat")
        finish(jobs, job)
        assert job.error is None and job.result["in_use"] == "chat", job.error
        assert h.chat.path == settings.data_dir / "models" / chat.filename
        assert installs.in_use(h)["chat"] == h.chat.path.resolve()
        assert first_run.offers(h)["chat"] is None  # in use now: no offer
        with pytest.raises(Exception, match="no chat model is offered"):
            first_run.start(h, jobs, "chat")
    finally:
        server.close()
        h.close()


def test_every_banner_and_models_tab_text_is_in_english_and_chinese():
    import ast
    from pathlib import Path

    from app.web.labels import EN, ZH

    assert set(EN) == set(ZH)
    keys = set()
    for module in ("first_run.py", "models_tab.py"):
        tree = ast.parse((Path(__file__).parent.parent / "app" / "web" / module).read_text(encoding="utf-8"))
        keys |= {node.args[0].value for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "L"
                 and isinstance(node.args[0], ast.Constant)}
        keys |= {node.args[1].value for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t"
                 and isinstance(node.args[1], ast.Constant)}
    assert {"install_guard", "tab_models", "install", "use", "progress"} <= keys
    assert keys <= set(EN), keys - set(EN)
    assert all(ZH[k] != EN[k] for k in keys), [k for k in keys if ZH[k] == EN[k]]


def test_job_text_in_both_languages():
    from app.services.downloads import Progress
    from app.services.install_jobs import InstallJob
    from app.web.models_tab import job_text

    job = InstallJob("llama-guard-3-1b")
    assert job_text(job) == "**llama-guard-3-1b**: starting…"
    job.progress = Progress("llama-guard-3-1b", 256 * 2**20, 1024 * 2**20, 4 * 2**20, 192.0)
    assert job_text(job) == "**llama-guard-3-1b**: 256 of 1,024 MiB (25%), 4.0 MiB/s, about 192 s left"
    assert job_text(job, "zh") == "**llama-guard-3-1b**：已下载 256 / 1,024 MiB (25%)，4.0 MiB/秒，约剩 192 秒"
    job.result = {"in_use": "guard", "note": "", "path": "x"}
    assert job_text(job, "zh") == "✅ **llama-guard-3-1b** 已安装，从现在起检查每一轮对话。"
    job.result, job.error = None, "llama-guard-3-1b: download cancelled at 1 of 2 bytes"
    job.cancel.set()
    assert job_text(job).startswith("⏸ llama-guard-3-1b: download cancelled")
