"""Each evaluation end to end: read the input, index the documents, run, write the report folder.

These are what the CLI calls; Python users call them the same way. progress(label, done, total)
is told about long work (indexing a file, answering the questions).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from app import __version__
from app.services.guarding import guard_status
from core.errors import InputFileError
from evaluation import charts
from evaluation.answers import evaluate_answers, summarise_answers
from evaluation.collection import collection_name, prepare_collection
from evaluation.compare import DEFAULT_QUESTIONS, compare_rows, model_label, summarise_model
from evaluation.guard_eval import evaluate_guard
from evaluation.judge import judge_rows
from evaluation.prompts import load_prompts
from evaluation.questions import load_questions, resolve_docs
from evaluation.report import (answers_markdown, compare_html, compare_markdown, guard_markdown,
                                 retrieval_markdown, write_report)
from evaluation.retrieval import evaluate_retrieval

__all__ = ["run_retrieval", "run_guard", "run_answers", "run_compare", "DEFAULT_KS"]

DEFAULT_KS = (1, 3, 5, 10)
Progress = Callable[[str, int, int], None]


def _quiet(label: str, done: int, total: int) -> None:
    pass


def _stamp(hearth) -> dict:
    s = hearth.settings
    return {"created": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "hearth": __version__, "setup": {
        "chat model": Path(s.model).name if s.model else "embedded SmolLM2-135M-Instruct",
        "embeddings": Path(s.embedding_model).name if s.embedding_model else "embedded all-MiniLM-L6-v2",
        "chunks": f"{s.chunk_size}/{s.chunk_overlap} chars", "top_k": s.top_k, "threads": s.threads,
        "llama guard": guard_status(hearth.llama_guard)["status"]}}


def _library(hearth, docs_dir: Path, progress: Progress, fresh: bool = False):
    s = hearth.settings
    name = collection_name(docs_dir, f"{s.chunk_size}/{s.chunk_overlap}/{hearth.embedding_model_path}")
    if fresh:
        hearth.documents.drop(name)
    return prepare_collection(hearth, docs_dir, name, progress=lambda f, d, t: progress(f"index {f}", d, t))


def _questions(questions_file: Path, library, limit: int | None, *, require_docs: bool):
    questions = load_questions(questions_file, require_docs=require_docs)[:limit]
    files = [d.file for d in library.documents()] if library is not None else []
    return resolve_docs(questions, files, questions_file) if library is not None else questions


def run_retrieval(hearth, questions_file: Path, docs_dir: Path, out_dir: Path, *, ks: Sequence[int] = DEFAULT_KS,
                  limit: int | None = None, fresh: bool = False, progress: Progress = _quiet) -> dict:
    """fresh: index docs_dir again from scratch instead of reusing its collection."""
    charts.require_matplotlib()  # bad setup and bad input fail before minutes of indexing
    load_questions(questions_file, require_docs=True)
    library, col = _library(hearth, docs_dir, progress, fresh)
    questions = _questions(questions_file, library, limit, require_docs=True)
    result = evaluate_retrieval(library, questions, ks, lambda d, t: progress("questions", d, t))
    report = {"kind": "retrieval", **_stamp(hearth), "questions_file": str(questions_file), "collection": col,
              **result}
    out_dir.mkdir(parents=True, exist_ok=True)
    report["charts"] = [
        charts.hit_at_k_chart(result["summary"], result["ks"], out_dir / "hit_at_k.png"),
        charts.latency_histogram({"search": [r["latency_ms"] for r in result["rows"]]}, out_dir / "latency.png",
                                 "Search latency per question"),
    ]
    write_report(out_dir, report, retrieval_markdown(report))
    return report


def run_guard(hearth, prompts_file: Path, out_dir: Path, *, labels: Sequence[str] = (), text_field: str | None = None,
              assume: str | None = None, limit: int | None = None, progress: Progress = _quiet) -> dict:
    """Each prompt through the pipeline's checks as a question (failing closed, not written to the audit log)."""
    charts.require_matplotlib()
    prompts, fields = load_prompts(prompts_file, labels=labels, text_field=text_field, assume=assume, limit=limit)
    categories = fields if len(fields) > 1 else []
    pipeline = hearth.pipeline(retrieve=False)
    result = evaluate_guard(lambda text: pipeline.check(text, audit=False), prompts, categories,
                            lambda d, t: progress("prompts", d, t))
    report = {"kind": "guard", **_stamp(hearth), "prompts_file": str(prompts_file), "label_fields": fields,
              "assume": assume, "categories": categories,
              "llama_guard_note": guard_status(hearth.llama_guard)["warning"],
              **result}
    out_dir.mkdir(parents=True, exist_ok=True)
    report["charts"] = [charts.guard_rates_chart(result["summary"], categories, out_dir / "block_rates.png")]
    series = {name: [r[name]["ms"] for r in result["rows"] if r[name]["status"] != "missing"]
              for name in ("keyword", "llama_guard")}
    report["charts"].append(charts.latency_histogram({k: v for k, v in series.items() if v}, out_dir / "latency.png",
                                                     "Check latency per prompt"))
    write_report(out_dir, report, guard_markdown(report))
    return report


def run_answers(hearth, questions_file: Path, docs_dir: Path, out_dir: Path, *, judge_model: Path | None = None,
                limit: int | None = None, fresh: bool = False, progress: Progress = _quiet) -> dict:
    charts.require_matplotlib()
    load_questions(questions_file)
    if judge_model is not None and not Path(judge_model).is_file():
        raise InputFileError(judge_model, "no such judge model file (give a chat GGUF).")
    library, col = _library(hearth, docs_dir, progress, fresh)
    questions = _questions(questions_file, library, limit, require_docs=False)
    rows, sources = evaluate_answers(hearth.pipeline(col["collection"]), questions,
                                     lambda d, t: progress("questions", d, t))
    if judge_model is not None:
        hearth.chat.close()  # one model in memory at a time
        judge = hearth.chat.open(judge_model)
        try:
            judge_rows(judge, rows, sources, lambda d, t: progress("judge", d, t))
        finally:
            judge.close()
    report = {"kind": "answers", **_stamp(hearth), "questions_file": str(questions_file), "collection": col,
              "judge_model": str(judge_model) if judge_model else None, "summary": summarise_answers(rows),
              "rows": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    report["charts"] = [charts.latency_histogram({"turn": [r["latency_ms"] for r in rows]}, out_dir / "latency.png",
                                                 "Time per guarded turn")]
    write_report(out_dir, report, answers_markdown(report))
    return report


def run_compare(hearth, models: Sequence[Path], out_dir: Path, *, questions_file: Path | None = None,
                docs_dir: Path | None = None, limit: int | None = None, progress: Progress = _quiet) -> dict:
    """Each model in turn: load, answer every question through the pipeline, close, so only one is in memory at a
    time. Without docs_dir each question is a plain chat turn (no retrieval), with the same checks."""
    charts.require_matplotlib()
    if len(models) < 1:
        raise InputFileError(".", "give at least one model (--models A.gguf B.gguf).")
    for path in models:
        if not Path(path).is_file():
            raise InputFileError(path, "no such model file (give GGUF files).")
    questions_file = Path(questions_file or DEFAULT_QUESTIONS)
    library = col = None
    if docs_dir is not None:
        library, col = _library(hearth, docs_dir, progress)
    questions = _questions(questions_file, library, limit, require_docs=False)
    s = hearth.settings
    results: dict[str, dict] = {}
    for path in models:
        label = model_label(Path(path), results)
        model = hearth.chat.open(path)
        t0 = time.perf_counter()
        try:
            model.load()
            load_ms = (time.perf_counter() - t0) * 1000
            pipeline = (hearth.pipeline(col["collection"], chat_model=model) if library is not None
                        else hearth.pipeline(retrieve=False, chat_model=model))
            rows = compare_rows(lambda q: pipeline.ask(q).to_dict(), questions, lambda d, t: progress(label, d, t))
        finally:
            model.close()
        results[label] = {"label": label, "path": str(path), "load_ms": round(load_ms, 1),
                          "summary": summarise_model(rows), "rows": rows}
    report = {"kind": "compare", **_stamp(hearth), "questions_file": str(questions_file),
              "docs": str(docs_dir) if docs_dir else None, "max_tokens": s.max_tokens, "temperature": s.temperature,
              "questions": [{"id": q.id, "question": q.question} for q in questions], "models": list(results.values())}
    out_dir.mkdir(parents=True, exist_ok=True)
    report["charts"] = [
        charts.speed_chart(report["models"], out_dir / "speed.png"),
        charts.latency_histogram({m["label"]: [r["latency_ms"] for r in m["rows"]] for m in report["models"]},
                                 out_dir / "latency.png", "Time per question"),
    ]
    write_report(out_dir, report, compare_markdown(report), compare_html(report))
    return report
