"""The GPU path, proven in one command on a GPU machine that is offline and lent for minutes.

    python -m benchmarks.gpu prepare [--kit .gpu]      here, with the package registry: fills the kit
    bash benchmarks/gpu/run.sh OUT                     there: builds llama.cpp for CUDA, installs, runs the steps
    python -m benchmarks.gpu run --out OUT [--gpu]     the steps alone, on whatever llama.cpp is installed

`run` writes OUT/gpu-check.json and OUT/gpu-check.md. Each step (benchmarks/gpu/steps.py) runs in its own process
with a time limit inside an overall budget, so a crash or a slow step costs that step only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, SHARED_DATA

# name, time limit (s), whether later steps need it
PLAN = [("env", 60, True), ("models", 240, True), ("doctor", 120, False), ("turn", 240, False),
        ("decode", 240, False), ("guard", 180, False), ("one_process", 300, False)]


def run(kit: Path, out: Path, work: Path, *, gpu: bool, sizes: str, budget_s: float, build_s: float | None = None,
        progress=print) -> dict:
    deadline = time.monotonic() + budget_s
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    (work / "steps").mkdir(parents=True, exist_ok=True)
    report = {"gpu": gpu, "sizes": sizes, "budget_s": budget_s, "build_and_install_s": build_s,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "steps": {}}
    for name, limit, needed in PLAN:
        left = deadline - time.monotonic()
        if left < 15:
            report["steps"][name] = {"status": "skipped", "why": "out of time"}
            continue
        progress(f"step {name} (limit {min(limit, left):.0f} s) ...")
        (work / "steps" / f"{name}.json").unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "benchmarks.gpu.steps", name, "--kit", str(kit), "--work", str(work),
               "--sizes", sizes] + (["--gpu"] if gpu else [])
        t0 = time.monotonic()
        try:
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=min(limit, left))
            rc, err = done.returncode, done.stderr
        except subprocess.TimeoutExpired as e:
            rc, err = "timeout", (e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or "")
        result_file = work / "steps" / f"{name}.json"
        result = json.loads(result_file.read_text()) if result_file.is_file() else {}
        checks = result.get("checks", {})
        status = "passed" if rc == 0 and checks and all(checks.values()) else ("failed" if rc == 0 else "error")
        report["steps"][name] = {"status": status, "rc": rc, "s": round(time.monotonic() - t0, 1), **result}
        if status == "error":
            report["steps"][name]["stderr_tail"] = err[-2500:]
        progress(f"step {name}: {status} in {time.monotonic() - t0:.1f} s"
                 + "".join(f"\n  {'ok ' if v else 'NO '} {k}" for k, v in checks.items())
                 + (f"\n{err[-1500:]}" if status == "error" else ""))
        if status == "error" and needed:
            for later, _, _ in PLAN[PLAN.index((name, limit, needed)) + 1:]:
                report["steps"][later] = {"status": "skipped", "why": f"{name} failed"}
            break
    report["steps_s"] = round(time.monotonic() - started, 1)
    report["missing_wheels"] = missing_wheels(report)
    report["passed"] = all(s["status"] == "passed" for s in report["steps"].values()) and not report["missing_wheels"]
    (out / "gpu-check.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu-check.md").write_text(summary(report))
    return report


def missing_wheels(report: dict) -> list[str]:
    """Distributions the turn imported that neither the GPU image nor the kit's wheels hold."""
    from benchmarks.gpu.kit import IMAGE_HAS, OPTIONAL, WHEELS

    have = {n.lower().replace("_", "-") for n in (*IMAGE_HAS, *WHEELS, *OPTIONAL, "hearth-rag", "llama-cpp-python")}
    imported = report["steps"].get("turn", {}).get("imported_distributions", [])
    return sorted(d for d in imported if d.lower().replace("_", "-") not in have)


def summary(r: dict) -> str:
    s = r["steps"]
    env = s.get("env", {})
    gpus = ", ".join(f"{g['name']} ({g['total_mib']} MiB)" for g in env.get("nvidia_smi", [])) or "none"
    lines = [f"# GPU check: {'passed' if r['passed'] else 'NOT passed'}", "",
             f"- machine: {env.get('cpu_count')} cores, GPU: {gpus}; llama-cpp-python {env.get('llama_cpp_python')}, "
             f"offload supported: {env.get('gpu_offload_supported')}; Python {env.get('python')}",
             f"- run {r['date']}: {'GPU (CUDA build)' if r['gpu'] else 'CPU build'}, sizes {r['sizes']}; build and "
             f"install {r['build_and_install_s']} s, steps {r['steps_s']} s", "",
             "| step | status | s | checks |", "|---|---|---|---|"]
    for name, step in s.items():
        checks = "; ".join(f"{'ok' if v else 'NO'}: {k}" for k, v in step.get("checks", {}).items())
        lines.append(f"| {name} | {step['status']} | {step.get('s', '')} | {checks or step.get('why', '')} |")
    if "decode" in s and "chat" in s["decode"]:
        lines += ["", "| decode (synthetic, Q4_K_M) | layers on GPU | Hearth tok/s | raw tok/s | ratio | raw eval loop tok/s |",
                  "|---|---|---|---|---|---|"]
        for role in ("chat", "guard"):
            d = s["decode"][role]
            lines.append(f"| {d['model']} | {d['n_gpu_layers']} | {d['hearth_tok_s']} | {d['raw_tok_s']} | "
                         f"{d['ratio']} | {d['raw_eval_loop_tok_s']} |")
    if "cold_ms" in s.get("guard", {}):
        g = s["guard"]
        lines += ["", f"Guard check on {g['model']} ({g['offload']['reason']}): first {g['cold_ms']} ms, warm "
                  f"{g['warm_ms']} ms; alternating question/answer {g['alt_cache_ms']} ms with the per-role cache, "
                  f"{g['alt_nocache_ms']} ms without."]
    if "turn_s" in s.get("turn", {}):
        t = s["turn"]
        lines += ["", f"Turn: ingest of {len(t['ingested'])} 10-Qs {t['ingest_s']} s ({t['embedding_backend']} "
                  f"embedder); the turn {t['turn_s']} s, first text at {t['first_release_s']} s; chat offload: "
                  f"{t['chat_offload']['reason']}; guard offload: {t['guard_offload']['reason']}."]
    for name, one in s.get("one_process", {}).items():
        if isinstance(one, dict) and "rc" in one:
            got = one["stdout"].strip().splitlines()
            lines.append(f"- one process, {name}: {'ran' if one['ok'] else 'FAILED'}, rc {one['rc']}"
                         f"{' (' + one['signal'] + ')' if one['signal'] else ''}; last output: "
                         f"{got[-1] if got else '-'}{'' if one['required'] else ' (reported, not required)'}")
    if r["missing_wheels"]:
        lines += ["", f"Imported but not carried: {', '.join(r['missing_wheels'])}"]
    return "\n".join(lines) + "\n"


def record(r: dict, name: str | None = None) -> Path:
    """benchmarks/results/<name>.json from a run's report, in the benchmarks' format (RESULTS.md rebuilt)."""
    from benchmarks.common import RESULTS_DIR, Figure
    from benchmarks.run import write_report

    s, env = r["steps"], r["steps"]["env"]
    gpu = ", ".join(g["name"] for g in env.get("nvidia_smi", [])) or "no GPU"
    figures = []
    for role in ("chat", "guard"):
        d = s.get("decode", {}).get(role)
        if d:
            figures.append(Figure("decode", f"{d['model']}: streamed answer through Hearth ({d['n_gpu_layers']} GPU "
                                  "layers)", d["hearth_tok_s"], "tok/s", "raw llama-cpp-python, same GGUF, layers and "
                                  "stream", d["raw_tok_s"], target=">= 0.97x raw", met=(d["ratio"] or 0) >= 0.97,
                                  note=f"raw eval loop {d['raw_eval_loop_tok_s']} tok/s; {d['threads']} threads"))
    g = s.get("guard", {})
    if "cold_ms" in g:
        note = f"{g['model']}, {g['offload']['reason']}"
        figures += [Figure("guard", "warm check, same role (saved prefix)", g["warm_ms"], "ms", "first check: whole "
                           "policy read", g["cold_ms"], higher_is_better=False, note=note),
                    Figure("guard", "alternating question/answer checks, per-role cache", g["alt_cache_ms"], "ms",
                           "same checks without the saved cache", g["alt_nocache_ms"], higher_is_better=False,
                           note=note)]
    t = s.get("turn", {})
    if "turn_s" in t:
        one = s.get("one_process", {})
        together = "; ".join(f"{k}: {'ran' if v['ok'] else 'crashed' if v['signal'] else 'failed'}"
                             for k, v in one.items() if isinstance(v, dict) and "ok" in v)
        figures.append(Figure("turn", "guarded RAG turn, question to last check (2 10-Qs indexed)", t["turn_s"], "s",
                              note=f"chat: {t['chat_offload']['reason']}; guard: {t['guard_offload']['reason']}; "
                              f"ingest {t['ingest_s']} s ({t['embedding_backend']}); one process: {together}"))
    result = {"benchmark": name or ("gpu_cuda" if r["gpu"] else "gpu_cpu"), "date": r["date"], "quick": r["sizes"] != "full",
              "machine": {"cpu": f"a GPU machine with {gpu}" if r["gpu"] else "the CPU build (no GPU)",
                          "cores": env.get("cpu_count"), "memory": env.get("memory", ""), "os": env.get("platform", ""),
                          "python": env.get("python", "")},
              "versions": {k: v for k, v in (("llama-cpp-python", env.get("llama_cpp_python")),
                                             ("CUDA build and install (s)", r.get("build_and_install_s")),
                                             ("all steps (s)", r.get("steps_s"))) if v is not None},
              "figures": [f.to_dict() for f in figures]}
    path = RESULTS_DIR / f"{result['benchmark']}.json"
    path.write_text(json.dumps(result, indent=1))
    write_report()
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu")
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare", help="fill the kit a GPU machine needs (here, with the package registry)")
    pp.add_argument("--kit", type=Path, default=ROOT / ".gpu")
    pp.add_argument("--pdfs", type=Path, default=SHARED_DATA / "sec10q" / "pdfs")
    pp.add_argument("--level", type=int, default=6, help="xz preset (0-9)")
    pp.add_argument("--python", default="3.12", help="the GPU machine's Python, for the wheels")
    pr = sub.add_parser("run", help="run the steps on the installed llama.cpp (CPU, or CUDA with --gpu)")
    pr.add_argument("--kit", type=Path, default=ROOT / ".gpu")
    pr.add_argument("--out", type=Path, required=True)
    pr.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "hearth-gpu-check")
    pr.add_argument("--gpu", action="store_true", help="the CUDA build: require offload")
    pr.add_argument("--sizes", choices=["full", "small"], default="full")
    pr.add_argument("--budget-s", type=float, default=1800)
    pr.add_argument("--build-s", type=float, default=None, help="what the build and install took (run.sh)")
    pc = sub.add_parser("record", help="put a run's figures into benchmarks/results (then RESULTS.md)")
    pc.add_argument("report", type=Path, help="gpu-check.json of a run")
    pc.add_argument("--name", default=None, help="results name (default: gpu_cuda or gpu_cpu)")
    a = p.parse_args(argv)
    if a.cmd == "prepare":
        from benchmarks.gpu.kit import prepare

        prepare(a.kit.resolve(), ROOT, a.pdfs, level=a.level, python=a.python)
        return
    if a.cmd == "record":
        print(record(json.loads(a.report.read_text()), a.name))
        return
    report = run(a.kit.resolve(), a.out.resolve(), a.work.resolve(), gpu=a.gpu, sizes=a.sizes, budget_s=a.budget_s,
                 build_s=a.build_s)
    print((a.out / "gpu-check.md").read_text())
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
