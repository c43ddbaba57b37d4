"""Evaluation you can run: retrieval, answers, the guard, and models side by side (`hearth eval`, `hearth compare`).

A package of its own, beside app/: it uses Hearth's public APIs only (Library.search/ingest/documents,
Pipeline.ask and Pipeline.check), so the numbers describe what a user gets, and app/ never imports it (the
commands reach `hearth` through the "hearth.commands" entry points). Bad input raises
core.errors.InputFileError. Metrics are pure functions in metrics.py, answer_checks.py and the summarise_*
functions. The charts need matplotlib: `pip install 'hearth-rag[eval]'`.
"""

from evaluation.runs import DEFAULT_KS, run_answers, run_compare, run_guard, run_retrieval

__all__ = ["DEFAULT_KS", "run_answers", "run_compare", "run_guard", "run_retrieval"]
