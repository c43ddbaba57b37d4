"""The benchmark report is generated from stored results; its rendering is a pure function."""

from benchmarks.common import Figure
from benchmarks.run import render


def test_report_shows_value_baseline_ratio_and_target():
    fig = Figure("ingest", "pages/s end to end", 30.0, "pages/s", "naive pypdf pipeline", 6.0,
                 target=">= 3x", met=True)
    result = {"benchmark": "ingest", "date": "2026-11-23 10:00 UTC", "quick": False,
              "machine": {"cpu": "Test CPU", "cores": 2, "memory": "24 GiB", "os": "Linux", "python": "3.11.7"},
              "versions": {"hearth-rag": "0.1.0"}, "figures": [fig.to_dict()]}
    text = render([result])
    assert "## ingest" in text and "Test CPU, 2 cores" in text
    assert "| ingest | pages/s end to end | 30 pages/s | naive pypdf pipeline | 6 | 5.00× | >= 3x | yes |" in text


def test_ratio_is_none_without_a_baseline():
    assert Figure("g", "n", 1.0, "s").ratio is None
