"""PNG charts next to a report: hit@k curves, latency histograms, block rates, decode speed (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from core.errors import InputError

__all__ = ["require_matplotlib", "hit_at_k_chart", "latency_histogram", "guard_rates_chart", "speed_chart"]

MISSING = ("the evaluation draws its charts with matplotlib, which is not installed: "
           "run `pip install 'hearth-rag[eval]'` (or `pip install -e '.[eval]'` in a checkout).")


def require_matplotlib() -> None:
    """Fail before any indexing or model work when the charts cannot be drawn (matplotlib is the eval extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise InputError(MISSING) from e


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path.name


def hit_at_k_chart(summary: Mapping[str, dict], ks: Sequence[int], path: Path) -> str:
    """doc hit@k (solid) and page hit@k (dashed, where pages are known) against k, one line per group."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, s in summary.items():
        line, = ax.plot(ks, [s[f"doc_hit@{k}"] for k in ks], marker="o", label=f"{name}: document (n={s['n']})")
        if s["n_with_pages"]:
            ax.plot(ks, [s[f"page_hit@{k}"] for k in ks], marker="s", linestyle="--", color=line.get_color(),
                    label=f"{name}: page (n={s['n_with_pages']})")
    ax.set(xlabel="k (passages retrieved)", ylabel="hit@k", ylim=(0, 1.02), xticks=list(ks),
           title="Is the evidence among the first k passages?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def latency_histogram(series: Mapping[str, Sequence[float]], path: Path, title: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for label, values in series.items():
        if values:
            ax.hist(values, bins=min(30, max(5, len(values) // 3)), alpha=0.6, label=f"{label} (n={len(values)})")
    ax.set(xlabel="milliseconds", ylabel="count", title=title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def guard_rates_chart(summary: dict, categories: Sequence[str], path: Path) -> str:
    """Block rate per unsafe category and the false-positive rate on safe prompts, per available layer."""
    plt = _plt()
    layers = [name for name, L in summary["layers"].items() if L["available"]]
    groups = list(categories) + ["false positives (safe)"]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.8 * len(groups) + 2), 4))
    width = 0.8 / max(1, len(layers))
    for i, name in enumerate(layers):
        L = summary["layers"][name]
        values = [L["per_category"][c]["block_rate"] or 0 for c in categories] + [L["false_positive_rate_safe"] or 0]
        ax.bar([x + i * width for x in range(len(groups))], values, width, label=name)
    ax.set_xticks([x + width * (len(layers) - 1) / 2 for x in range(len(groups))], groups, rotation=30, ha="right")
    missing = [name for name, L in summary["layers"].items() if not L["available"]]
    ax.set(ylabel="share of prompts blocked", ylim=(0, 1.02),
           title="Block rate by category" + (f" ({', '.join(missing)}: missing)" if missing else ""))
    ax.legend(fontsize=8)
    return _save(fig, path)


def speed_chart(models: Sequence[dict], path: Path) -> str:
    """Mean decode speed and mean turn latency per model, side by side."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.6))
    labels = [m["label"] for m in models]
    a.bar(labels, [m["summary"]["tokens_per_s"] or 0 for m in models], color="tab:green")
    a.set(title="decode speed", ylabel="tokens/s")
    b.bar(labels, [(m["summary"]["latency"]["mean_ms"] or 0) / 1000 for m in models], color="tab:blue")
    b.set(title="mean time per question", ylabel="seconds")
    for ax in (a, b):
        ax.tick_params(axis="x", labelrotation=15, labelsize=8)
    return _save(fig, path)
