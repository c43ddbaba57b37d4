"""Evaluation you can run: retrieval, answers, the guard, and models side by side (`hearth eval`, `hearth compare`).

Only public APIs of Hearth are used (Library.search/ingest/documents, Pipeline.ask, the guard layers'
check), so the numbers describe what a user gets. Metrics are pure functions in metrics.py,
answer_checks.py and the summarise_* functions.
"""

from app.evaluate.errors import EvalInputError
from app.evaluate.runs import DEFAULT_KS, run_answers, run_compare, run_guard, run_retrieval

__all__ = ["EvalInputError", "DEFAULT_KS", "run_answers", "run_compare", "run_guard", "run_retrieval"]
