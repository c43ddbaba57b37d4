"""The steps of the GPU check, each run in its own process by `python -m benchmarks.gpu run` (a crash, such as
CUDA llama.cpp beside torch, ends one step and is reported; the others go on):

    python -m benchmarks.gpu.steps STEP --kit .gpu --work DIR [--gpu] [--sizes full|small]

writes DIR/steps/STEP.json. On a machine without a GPU the same steps run on the CPU build (--gpu not given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.gpu.kit import PDFS, QUESTION, unpack_data

__all__ = ["STEPS", "Context"]

SIZES = {"full": {"chat": "135m", "guard": "1b", "tokens": 256, "rounds": 3},
         "small": {"chat": "tiny", "guard": "tiny", "tokens": 48, "rounds": 2}}
MESSAGES = [{"role": "system", "content": "Answer from the passages."},
            {"role": "user", "content": "Summarise the quarter's results in one paragraph."}]


class Context:
    def __init__(self, kit: Path, work: Path, gpu: bool, sizes: str):
        self.kit, self.work, self.gpu, self.size = kit, work, gpu, SIZES[sizes]
        self.threads = os.cpu_count() or 1

    def save(self, step: str, result: dict) -> None:
        (self.work / "steps").mkdir(parents=True, exist_ok=True)
        (self.work / "steps" / f"{step}.json").write_text(json.dumps(result, indent=1, default=str))

    @property
    def data(self) -> Path:
        return self.work / "data"

    def model(self, role: str) -> Path:
        return self.work / "models" / f"synthetic-{role}-{self.size[role]}.Q4_K_M.gguf"

    def settings(self, **extra):
        from app.settings import load_settings

        return load_settings({"data_dir": self.work / "hearth", "model": self.model("chat"),
                              "embedding_model": self.data / "minilm", "guard_model": self.model("guard"),
                              "guard_format": "llama-guard-3-1b", "max_tokens": 64, **extra}, environ={})


def _gpu_memory() -> list[dict]:
    if not shutil.which("nvidia-smi"):
        return []
    done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,memory.used,driver_version",
                           "--format=csv,noheader,nounits"], capture_output=True, text=True)
    rows = [r.split(", ") for r in done.stdout.strip().splitlines() if r]
    return [{"name": r[0], "total_mib": int(r[1]), "used_mib": int(r[2]), "driver": r[3]} for r in rows if len(r) == 4]


# -- steps ---------------------------------------------------------------------------------------------------------

def env(ctx: Context) -> dict:
    import llama_cpp

    from engine import detect_gpus
    from engine.llamacpp import cpu_has_amx

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "memory": f"{memory:.0f} GiB",
            "cpu_has_amx": cpu_has_amx(), "llama_cpp_python": llama_cpp.__version__,
            "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
            "gpus": [g.to_dict() for g in detect_gpus()], "nvidia_smi": _gpu_memory(),
            "checks": {"offload supported": bool(llama_cpp.llama_supports_gpu_offload()) or not ctx.gpu}}


def models(ctx: Context) -> dict:
    from benchmarks.gpu.synth import synthetic_model

    t0 = time.perf_counter()
    unpack_data(ctx.kit, ctx.work)
    out = {"unpack_s": round(time.perf_counter() - t0, 1)}
    for role in ("chat", "guard"):
        t0 = time.perf_counter()
        path = synthetic_model(ctx.work / "models", ctx.size[role], role, ctx.data / "tokenizer.json",
                               threads=ctx.threads)
        out[role] = {"path": str(path), "shape": ctx.size[role], "mib": round(path.stat().st_size / 2**20, 1),
                     "write_s": round(time.perf_counter() - t0, 1)}
    out["checks"] = {"models written": all(Path(out[r]["path"]).is_file() for r in ("chat", "guard"))}
    return out


def doctor(ctx: Context) -> dict:
    """`hearth doctor --json`, as a user runs it, on the models of this check."""
    s = ctx.settings()
    env = {**os.environ, "HEARTH_DATA_DIR": str(s.data_dir), "HEARTH_MODEL": str(s.model),
           "HEARTH_GUARD_MODEL": str(s.guard_model), "HEARTH_EMBEDDING_MODEL": str(s.embedding_model),
           "HEARTH_GUARD_FORMAT": s.guard_format}
    cmd = [shutil.which("hearth")] if shutil.which("hearth") else [sys.executable, "-m", "app"]
    done = subprocess.run(cmd + ["doctor", "--json"], env=env, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"rc": done.returncode, "stderr": done.stderr[-3000:], "checks": {"doctor --json answered": False}}
    gpu = report.get("gpu", {})
    return {"rc": done.returncode, "gpu": gpu, "embedding_backend": report.get("embedding_backend"),
            "threads": report.get("threads"), "guard": report.get("guard"), "problems": report.get("problems"),
            "checks": {"doctor --json answered": done.returncode == 0,
                       "offload supported and planned": (not ctx.gpu) or (gpu.get("offload_supported", False)
                                                                          and gpu.get("n_gpu_layers", 0) != 0),
                       "guard planned on the GPU too": (not ctx.gpu) or ((gpu.get("guard_offload") or {})
                                                                           .get("n_gpu_layers", 0) != 0),
                       "no torch beside CUDA llama.cpp": report.get("embedding_backend") != "torch" or not ctx.gpu}}


def _stand_in_guard(ctx: Context, settings, hearth_chat, gpus):
    """The synthetic Llama Guard 3 1B-shape model, planned on the GPU by Hearth's own rule. It is a stand-in:
    random weights give no real verdict, so it never blocks (threshold above 1) and its format is not verified."""
    from app.services.guarding import guard_offload
    from guard import LlamaGuard

    plan = guard_offload(ctx.model("guard"), settings, hearth_chat, gpus)
    guard = LlamaGuard(ctx.model("guard"), variant="llama-guard-3-1b", verify_model=False, min_format_mass=0.0,
                       threshold=1.01, n_ctx=4096, n_threads=hearth_chat.budget.cpu_threads,
                       n_gpu_layers=plan.n_gpu_layers, timeout_s=600)
    return guard, plan


def turn(ctx: Context) -> dict:
    """A guarded RAG turn through the page's pipeline: two real 10-Qs ingested, the question asked, both checks."""
    from app.hearth import Hearth
    from app.turn.results import Finished, Released
    from engine import detect_gpus

    settings = ctx.settings()
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    gpus = detect_gpus()
    from app.services.chat import ChatSlot

    slot = ChatSlot(settings, gpus=lambda: gpus, compute_lock=threading.RLock())
    guard, guard_plan = _stand_in_guard(ctx, settings, slot, gpus)
    hearth = Hearth(settings, llama_guard=guard, gpus=gpus)
    t0 = time.perf_counter()
    ingested = list(hearth.ingest([ctx.data / "pdfs" / n for n in PDFS]))
    ingest_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    released, first_release, result = 0, None, None
    for event in hearth.pipeline().run(QUESTION):
        if isinstance(event, Released):
            released += 1
            first_release = first_release or time.perf_counter() - t0
        elif isinstance(event, Finished):
            result = event.result
    turn_s = time.perf_counter() - t0
    guard_checks = {c.stage: c.status for c in result.checks if c.layer == "llama_guard"}
    apple = [h for h in result.sources if h.file == PDFS[0]]
    imported = imported_distributions()
    out = {
        "ingested": [{"file": r.file, "status": r.status, "pages": r.pages, "chunks": r.chunks} for r in ingested],
        "ingest_s": round(ingest_s, 2), "turn_s": round(turn_s, 2),
        "first_release_s": round(first_release, 2) if first_release else None, "released_events": released,
        "answer": result.answer[:300], "blocked": result.blocked, "blocked_by": result.blocked_by,
        "checks_run": [c.to_dict() for c in result.checks],
        "sources": [{"file": h.file, "page": h.page} for h in result.sources],
        "citations": [{"n": c.n, "file": c.file, "page": c.page} for c in result.citations],
        "timings_ms": {k: round(v, 1) for k, v in result.timings.items()},
        "chat_offload": hearth.chat.offload.to_dict(), "guard_offload": guard_plan.to_dict(),
        "embedding_backend": hearth.embedding_backend, "threads": hearth.chat.budget.to_dict(),
        "torch_in_process": "torch" in sys.modules, "imported_distributions": imported,
        "gpu_memory_after": _gpu_memory(),
    }
    out["checks"] = {
        "both documents ingested": len(ingested) == 2 and all(r.status == "indexed" for r in ingested),
        "answer streamed, not blocked": bool(result.answer.strip()) and not result.blocked and released >= 1,
        "Llama Guard checked question and answer": guard_checks == {"question": "passed", "answer": "passed"},
        "Apple's 10-Q retrieved, with the quarter's net sales": any("81,797" in h.text for h in apple),
        "sources are pages of the ingested files": all(h.file in PDFS and h.page >= 1 for h in result.sources),
        "chat model offloaded": (not ctx.gpu) or hearth.chat.offload.full,
        "guard offloaded": (not ctx.gpu) or guard_plan.full,
        "no torch in the turn's process": "torch" not in sys.modules,
    }
    hearth.close()
    guard.close()
    return out


def imported_distributions() -> list[str]:
    """The distributions whose files this process has imported (read from each one's RECORD)."""
    import importlib.metadata as md

    owner = {os.path.realpath(dist.locate_file(f)): dist.metadata["Name"]
             for dist in md.distributions() for f in dist.files or () if f.suffix in (".py", ".so", ".pyd")}
    files = {os.path.realpath(m.__file__) for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    return sorted({owner[f] for f in files if f in owner})


def _stream_rate(pieces, llm) -> tuple[float, int]:
    """Decode tokens/s of a stream: tokens evaluated after the first piece, over the time since it."""
    import llama_cpp

    first = None
    for _ in pieces:
        first = first or time.perf_counter()
    end = time.perf_counter()
    n = llama_cpp.llama_perf_context(llm.ctx).n_eval
    return (n - 1) / (end - first) if first and end > first and n > 1 else 0.0, n


def _decode_one(ctx: Context, hearth, path: Path) -> dict:
    import llama_cpp

    from engine.llamacpp import open_llama

    mine = hearth.chat.open(path)  # Hearth's chat model: its offload plan, threads and lock
    llm_mine = mine.load()
    raw = open_llama(path, amx=False, n_ctx=hearth.settings.n_ctx, n_threads=mine.n_threads,
                     n_threads_batch=mine.n_threads, n_gpu_layers=mine.n_gpu_layers, verbose=False)
    n = ctx.size["tokens"] if ctx.gpu else ctx.size["tokens"] // 2  # a CPU decodes a 1B model at ~15 tok/s
    for warm in (raw.create_chat_completion(messages=MESSAGES, max_tokens=8, stream=True), mine.stream(MESSAGES, max_tokens=8)):
        list(warm)
    hearth_rates, raw_rates, tokens = [], [], []
    for _ in range(ctx.size["rounds"]):
        llama_cpp.llama_perf_context_reset(raw.ctx)
        rate, count = _stream_rate(raw.create_chat_completion(messages=MESSAGES, max_tokens=n, temperature=0.2,
                                                              repeat_penalty=1.1, stream=True), raw)
        raw_rates.append(rate)
        gen = mine.stream(MESSAGES, max_tokens=n)
        rate_h, count_h = _stream_rate(gen, llm_mine)
        hearth_rates.append(rate_h)
        tokens.append((count, count_h))
    # the raw eval loop, as ../shared/gpu/decode_bench.py measures it
    raw.reset()
    raw.eval([1] + [300 + i for i in range(63)])
    t0 = time.perf_counter()
    for i in range(n):
        raw.eval([400 + i])
    loop = n / (time.perf_counter() - t0)
    out = {"model": path.name, "n_gpu_layers": mine.n_gpu_layers, "threads": mine.n_threads,
           "hearth_tok_s": round(statistics.median(hearth_rates), 1), "raw_tok_s": round(statistics.median(raw_rates), 1),
           "raw_eval_loop_tok_s": round(loop, 1), "tokens (raw, hearth)": tokens}
    out["ratio"] = round(out["hearth_tok_s"] / out["raw_tok_s"], 3) if out["raw_tok_s"] else None
    raw.close()
    mine.close()
    return out


def decode(ctx: Context) -> dict:
    """Decode tokens/s of Hearth's chat model against raw llama-cpp-python on the same GGUF, same layers."""
    from app.hearth import Hearth

    hearth = Hearth(ctx.settings(n_ctx=2048))
    out = {role: _decode_one(ctx, hearth, ctx.model(role)) for role in ("chat", "guard")}
    hearth.close()
    out["checks"] = {f"{out[r]['model']}: Hearth >= 0.97 of raw": (out[r]["ratio"] or 0) >= 0.97
                     for r in ("chat", "guard")}
    return out


def guard(ctx: Context) -> dict:
    """A guard check's latency on the 1B shape: the first (whole policy read) and with the saved prefix."""
    from app.hearth import Hearth
    from benchmarks.bench_guard import _measure

    hearth = Hearth(ctx.settings())
    stand_in, plan = _stand_in_guard(ctx, hearth.settings, hearth.chat, hearth.gpus)
    t0 = time.perf_counter()
    stand_in.load()
    load_s = time.perf_counter() - t0
    m = _measure(stand_in, ctx.size["rounds"])
    stand_in.close()
    hearth.close()
    out = {"model": ctx.model("guard").name, "offload": plan.to_dict(), "load_s": round(load_s, 2),
           **{f"{k}_ms": round(v * 1000, 1) for k, v in m.items()}}
    out["checks"] = {"saved prefix faster than the first check": m["warm"] < m["cold"],
                     "per-role cache faster when roles alternate": m["alt_cache"] <= m["alt_nocache"]}
    return out


_LLAMA = """
from engine.llamacpp import open_llama
llm = open_llama({chat!r}, n_gpu_layers={ngl}, verbose=False)
print("llama.cpp:", repr(llm.create_completion("Hello", max_tokens=8)["choices"][0]["text"][:20]), flush=True)
"""
_TURN_IMPORTS = """
import app.hearth, chromadb, onnxruntime, rag, guard, app.turn
from app.hearth import Hearth
from app.settings import load_settings
h = Hearth(load_settings({{"data_dir": {data!r}, "model": {chat!r}, "embedding_model": {minilm!r}}}, environ={{}}))
print("embedder:", h.embedding_backend, len(h.embedder.embed(["net sales"])[0]), flush=True)
print("llama.cpp again:", repr(llm.create_completion("Again", max_tokens=8)["choices"][0]["text"][:20]), flush=True)
"""
_TORCH = """
import torch
print("torch", torch.__version__, "cuda:", torch.cuda.is_available(), flush=True)
if torch.cuda.is_available():
    x = torch.randn(512, 512, device="cuda"); print("torch on the GPU:", float((x @ x).sum()), flush=True)
"""
_AGAIN = """
print("llama.cpp after torch:", repr(llm.create_completion("More", max_tokens=8)["choices"][0]["text"][:20]), flush=True)
"""
# name: (script, whether Hearth depends on it). Hearth keeps torch out of a process where llama.cpp runs on CUDA
# (embeddings through ONNX Runtime), so the torch cases are reported, not required: they tell whether the crash of
# ../shared/gpu/README.md still happens.
ONE_PROCESS = {
    "llama.cpp with everything a turn imports": (_LLAMA + _TURN_IMPORTS, True),
    "llama.cpp, the turn's imports, then torch": (_LLAMA + _TURN_IMPORTS + _TORCH + _AGAIN, False),
    "torch, then llama.cpp": (_TORCH + _LLAMA, False),
}


def one_process(ctx: Context) -> dict:
    """CUDA llama.cpp with everything a turn imports, and with torch, each in a fresh process: a crash is reported."""
    out = {}
    for name, (code, required) in ONE_PROCESS.items():
        script = code.format(chat=str(ctx.model("chat")), ngl=-1 if ctx.gpu else 0, data=str(ctx.work / "one"),
                             minilm=str(ctx.data / "minilm")) + "print('OK', flush=True)\n"
        t0 = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=80)
            rc, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as e:
            rc, stdout, stderr = "timeout", _text(e.stdout), _text(e.stderr)
        out[name] = {"rc": rc, "signal": signal.Signals(-rc).name if isinstance(rc, int) and rc < 0 else None,
                     "ok": rc == 0 and stdout.rstrip().endswith("OK"), "required": required,
                     "s": round(time.perf_counter() - t0, 1), "stdout": stdout[-800:], "stderr_tail": stderr[-1500:]}
        ctx.save("one_process", {**out, "checks": {}})  # so far: a hang in a later case loses nothing
    out["checks"] = {f"one process: {name}": out[name]["ok"] for name, (_, required) in ONE_PROCESS.items()
                     if required}
    return out


def _text(b) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")


STEPS = {"env": env, "models": models, "doctor": doctor, "turn": turn, "decode": decode, "guard": guard,
         "one_process": one_process}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu.steps")
    p.add_argument("step", choices=list(STEPS))
    p.add_argument("--kit", type=Path, default=Path(".gpu"))
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--sizes", choices=list(SIZES), default="full")
    a = p.parse_args(argv)
    ctx = Context(a.kit, a.work, a.gpu, a.sizes)
    t0 = time.perf_counter()
    result = STEPS[a.step](ctx)
    result["step_s"] = round(time.perf_counter() - t0, 1)
    ctx.save(a.step, result)


if __name__ == "__main__":
    main()
