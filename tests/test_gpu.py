"""GPU offload planning, VRAM detection and the thread budget, with literal numbers.

No GPU here: the hardware facts come from named fakes (FakeNvidiaSmi, fake free-VRAM figures);
the planning itself is a pure function and runs for real.
"""

import json
import os
import stat
import sys

import pytest

from engine import gpu
from engine.gpu import GiB, MiB, ModelShape, kv_cache_bytes, parse_nvidia_smi, plan_offload
from app.services.models import REGISTRY, recommend_chat_model
from engine import thread_budget

QWEN_7B = REGISTRY["qwen2.5-7b-instruct"].model_shape()  # 28 layers, 4.68 GB
LLAMA_1B = ModelShape(int(0.8 * GiB), 16, 2048, 32, 8)


def test_kv_cache_size_of_a_real_shape():
    # Qwen2.5-7B: 2 (K,V) x 28 layers x 4096 positions x 4 KV heads x 128 dims x 2 bytes
    assert kv_cache_bytes(QWEN_7B, 4096) == 2 * 28 * 4096 * 4 * 128 * 2 == 224 * MiB


def test_all_layers_when_the_model_fits():
    plan = plan_offload(QWEN_7B, n_ctx=4096, free_vram_bytes=78 * GiB, gpu_supported=True)
    assert plan.n_gpu_layers == -1 and plan.layers_on_gpu == 28 and plan.full
    assert "all 28 layers" in plan.reason


def test_as_many_layers_as_fit_when_it_does_not():
    plan = plan_offload(QWEN_7B, n_ctx=4096, free_vram_bytes=3 * GiB, gpu_supported=True)
    # (3 GiB - 600 MiB reserve - one layer for embeddings/head) / ((4.68 GB + 224 MiB KV) / 29) = 14.3
    assert plan.n_gpu_layers == plan.layers_on_gpu == 14 and not plan.full
    assert "14 of 28 layers" in plan.reason
    smaller = plan_offload(QWEN_7B, n_ctx=4096, free_vram_bytes=2 * GiB, gpu_supported=True)
    assert 0 < smaller.n_gpu_layers < plan.n_gpu_layers


def test_a_longer_context_leaves_room_for_fewer_layers():
    short = plan_offload(QWEN_7B, n_ctx=2048, free_vram_bytes=4 * GiB, gpu_supported=True)
    long = plan_offload(QWEN_7B, n_ctx=32768, free_vram_bytes=4 * GiB, gpu_supported=True)
    assert long.n_gpu_layers < short.n_gpu_layers


@pytest.mark.parametrize("free,supported,expected,why", [
    (None, True, 0, "no GPU with known free memory"),
    (8 * GiB, False, 0, "no GPU support"),
    (700 * MiB, True, 0, "holds no layer"),
])
def test_cpu_when_there_is_no_usable_gpu(free, supported, expected, why):
    plan = plan_offload(LLAMA_1B, n_ctx=4096, free_vram_bytes=free, gpu_supported=supported)
    assert plan.n_gpu_layers == expected and why in plan.reason


@pytest.mark.parametrize("requested,on_gpu", [(-1, 16), (0, 0), (5, 5), (99, 16)])
def test_the_setting_overrides_the_plan(requested, on_gpu):
    plan = plan_offload(LLAMA_1B, n_ctx=4096, free_vram_bytes=1 * GiB, gpu_supported=True, requested=requested)
    assert plan.n_gpu_layers == requested and plan.layers_on_gpu == on_gpu and "set by n_gpu_layers" in plan.reason


def test_shape_from_gguf_metadata_of_the_embedded_model(smollm_path):
    from engine import read_shape

    shape = read_shape(smollm_path)
    assert (shape.n_layers, shape.n_embd, shape.n_head, shape.n_head_kv) == (30, 576, 9, 3)
    assert shape.file_bytes == smollm_path.stat().st_size


def test_nvidia_smi_output_is_parsed():
    out = "0, NVIDIA H100 80GB HBM3, 81559, 80931\n1, NVIDIA T4, 15360, 100\nnot a row\n"
    gpus = parse_nvidia_smi(out)
    assert [(g.index, g.name) for g in gpus] == [(0, "NVIDIA H100 80GB HBM3"), (1, "NVIDIA T4")]
    assert gpus[0].free_bytes == 80931 * MiB and gpus[1].total_bytes == 15360 * MiB


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """FakeNvidiaSmi: an `nvidia-smi` on PATH that prints what a 24 GB card would (no NVML either)."""
    exe = tmp_path / "bin" / "nvidia-smi"
    exe.parent.mkdir()
    exe.write_text(f"#!{sys.executable}\nprint('0, NVIDIA GeForce RTX 4090, 24564, 23000')\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails, as on a machine without NVML
    return exe


def test_detection_falls_back_to_nvidia_smi(fake_nvidia_smi):
    (card,) = gpu.detect_gpus()
    assert card.name == "NVIDIA GeForce RTX 4090" and card.free_bytes == 23000 * MiB


def test_no_gpu_detected_without_driver_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert gpu.detect_gpus() == []


@pytest.mark.parametrize("free,ram,cores,name", [
    (78 * GiB, 128 * GiB, 16, "qwen2.5-7b-instruct"),  # H100: the largest recommended
    (int(2.75 * GiB), 16 * GiB, 8, "qwen2.5-3b-instruct"),  # 4 GB card with 2.75 GiB free
    (int(3.5 * GiB), 16 * GiB, 8, "llama-3.2-3b-instruct"),  # its larger KV cache fits too
    (2 * GiB, 8 * GiB, 4, "qwen2.5-1.5b-instruct"),  # 2 GB card
    (None, 24 * GiB, 2, "smollm2-135m-instruct"),  # this development machine
    (None, 16 * GiB, 8, "qwen2.5-3b-instruct"),  # a fast laptop without GPU
])
def test_recommended_model_by_hardware_tier(free, ram, cores, name):
    assert recommend_chat_model(free_vram_bytes=free, ram_bytes=ram, cores=cores)["name"] == name


def test_thread_budget_shares_cores_on_cpu_and_splits_them_beside_a_gpu():
    assert thread_budget(2, chat_on_gpu=False).to_dict() == {"chat_threads": 2, "cpu_threads": 2, "shared_lock": True}
    assert thread_budget(16, chat_on_gpu=True).to_dict() == {"chat_threads": 4, "cpu_threads": 12,
                                                             "shared_lock": False}
    assert thread_budget(2, chat_on_gpu=True).shared_lock  # too few cores to split


def test_doctor_reports_gpu_offload_threads_and_a_recommendation(hearth, fake_nvidia_smi):
    from app.services.doctor import doctor_report, format_report

    report = doctor_report(hearth)
    assert report["gpu"]["devices"][0]["name"] == "NVIDIA GeForce RTX 4090"
    assert report["gpu"]["offload"]["n_gpu_layers"] == 0  # this llama.cpp build is CPU-only
    assert report["threads"] == {"chat_threads": os.cpu_count(), "cpu_threads": os.cpu_count(), "shared_lock": True}
    assert report["recommended_model"]["name"] in REGISTRY
    text = format_report(report)
    assert "RTX 4090" in text and "recommended" in text
    json.dumps(report)


def test_torch_embeddings_beside_a_gpu_chat_model_are_reported():
    from app.services.doctor import embedding_backend_problem

    assert "set HEARTH_EMBEDDING_BACKEND=auto" in embedding_backend_problem("torch", -1)
    assert embedding_backend_problem("torch", 12) is not None
    assert embedding_backend_problem("torch", 0) is None and embedding_backend_problem("numpy", -1) is None


def test_doctor_says_where_the_guard_model_goes(settings, embedder, chat_model, smollm_path):
    from app.hearth import Hearth
    from app.services.doctor import doctor_report, format_report

    hearth = Hearth(settings, embedder=embedder, chat_model=chat_model)
    assert doctor_report(hearth)["gpu"]["guard_offload"] is None  # no guard model: nothing to place
    hearth.close()
    hearth = Hearth(settings.model_copy(update={"guard_model": smollm_path}), embedder=embedder, chat_model=chat_model)
    report = doctor_report(hearth)
    assert report["gpu"]["guard_offload"]["n_gpu_layers"] == 0
    assert "guard: CPU, like the chat model" in format_report(report)
    hearth.close()
