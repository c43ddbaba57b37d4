"""Markdown for every evaluation, HTML for a comparison, and the report folder. Rendering is pure."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Sequence

__all__ = ["pct", "ms", "num", "markdown_table", "retrieval_markdown", "guard_markdown", "answers_markdown",
           "compare_markdown", "compare_html", "default_out_dir", "write_report"]


def pct(v) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def ms(v) -> str:
    return "n/a" if v is None else (f"{v:.2f} ms" if v < 10 else f"{v:,.0f} ms")


def num(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(map(_cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def _header(title: str, report: dict) -> list[str]:
    setup = ", ".join(f"{k} {v}" for k, v in report.get("setup", {}).items())
    return [f"# {title}", "", f"Created {report['created']} by Hearth {report.get('hearth', '')}.  ",
            f"Setup: {setup}." if setup else "", ""]


def _charts(report: dict) -> list[str]:
    return [f"![{c}]({c})" for c in report.get("charts", [])] + [""] if report.get("charts") else []


def retrieval_markdown(report: dict) -> str:
    ks, col = report["ks"], report["collection"]
    lines = _header("Retrieval evaluation", report)
    lines += [f"Questions: `{report['questions_file']}`. Documents: `{col['dir']}` ({col['files']} files, "
              f"{col['pages']} pages, {col['chunks']} chunks; collection `{col['collection']}`, {col['indexed']} "
              f"indexed and {col['unchanged']} reused in {col['seconds']} s).", ""]
    if col["failed"]:
        lines += ["Files that could not be indexed: " + "; ".join(f"{f['file']} ({f['error']})" for f in col["failed"]),
                  ""]
    headers = ["group", "questions"] + [f"doc hit@{k}" for k in ks] + [f"doc recall@{k}" for k in ks] + \
              [f"precision@{k}" for k in ks] + ["MRR"]
    paged = any(s["n_with_pages"] for s in report["summary"].values())
    if paged:
        headers += [f"page hit@{k}" for k in ks] + ["page MRR"]
    headers += ["p50 search", "p95 search"]
    table = []
    for name, s in report["summary"].items():
        row = [name, s["n"]] + [pct(s[f"doc_hit@{k}"]) for k in ks] + [pct(s[f"doc_recall@{k}"]) for k in ks] + \
              [pct(s[f"precision@{k}"]) for k in ks] + [num(s["mrr"])]
        if paged:
            row += [pct(s[f"page_hit@{k}"]) for k in ks] + [num(s["page_mrr"])]
        table.append(row + [ms(s["latency"]["p50_ms"]), ms(s["latency"]["p95_ms"])])
    lines += ["## Summary", "", markdown_table(headers, table), "",
              "doc hit@k: an evidence document is among the first k passages. doc recall@k: the share of the "
              "evidence documents found there (context recall). precision@k: the share of those passages that come "
              "from an evidence document (context precision). MRR: mean of 1/rank of the first evidence passage "
              f"(0 when none in the first {max(ks)}). page metrics: over the questions that give pages.", ""]
    lines += _charts(report)
    lines += ["## Questions", "", markdown_table(
        ["id", "question", "evidence", "first hit rank", "top passages", "search"],
        [[r["id"], r["question"][:120], ", ".join(r["docs"]) + (f" p.{','.join(map(str, r['pages']))}" if r["pages"]
                                                                 else ""),
          r["doc_rank"] or "—", "; ".join(f"{h['file']} p.{h['page']}" for h in r["retrieved"][:3]),
          ms(r["latency_ms"])] for r in report["rows"]])]
    return "\n".join(lines) + "\n"


def guard_markdown(report: dict) -> str:
    s = report["summary"]
    lines = _header("Guard evaluation", report)
    lines += [f"Prompts: `{report['prompts_file']}` ({s['prompts']}: {s['unsafe']} unsafe, {s['safe']} safe; labels "
              f"from {', '.join(report['label_fields']) or '--assume ' + str(report.get('assume'))}).", ""]
    table = []
    for name, L in s["layers"].items():
        if not L["available"]:
            table.append([name, "**missing**", "not measured", "not measured", L["status"]["missing"], "", ""])
            continue
        table.append([name, f"{L['judged']} judged", f"{pct(L['block_rate_unsafe'])} ({L['blocked_unsafe']}/"
                      f"{L['unsafe']})", f"{pct(L['false_positive_rate_safe'])} ({L['blocked_safe']}/{L['safe']})",
                      L["status"]["missing"], L["status"]["error"], f"{ms(L['latency']['p50_ms'])} / "
                                                                     f"{ms(L['latency']['p95_ms'])}"])
    lines += ["## Layers", "", markdown_table(["layer", "prompts", "block rate on unsafe", "false positives on safe",
                                                "missing", "errors", "latency p50 / p95"], table), ""]
    lg = s["layers"]["llama_guard"]
    if not lg["available"]:
        lines += [f"**The Llama Guard layer was missing on every prompt**: {report.get('llama_guard_note', '')} "
                  "Its block rate is not measured, and \"both\" is the keyword layer alone.", ""]
    cats = report.get("categories", [])
    if cats:
        rows = [[c] + [s["layers"]["keyword"]["per_category"][c]["unsafe"]] +
                [pct(s["layers"][layer]["per_category"][c]["block_rate"]) if s["layers"][layer]["available"]
                 else "missing" for layer in ("keyword", "llama_guard", "both")] for c in cats]
        lines += ["## Block rate per category", "", markdown_table(["category", "unsafe prompts", "keyword",
                                                                     "llama_guard", "both"], rows), ""]
    fired = {layer: L["fired"] for layer, L in s["layers"].items() if L["fired"] and layer != "both"}
    if fired:
        lines += ["## What the layers blocked for", "", markdown_table(
            ["layer", "category", "prompts"], [[layer, c, n] for layer, f in fired.items()
                                               for c, n in sorted(f.items(), key=lambda x: -x[1])]), ""]
    lines += _charts(report)
    mistakes = [r for r in report["rows"] if (r["label"] == "safe") == (r["both"]["status"] == "blocked")]
    lines += [f"## Disagreements with the labels (first 50 of {len(mistakes)})", "",
              "Prompts are shown cut to 100 characters; the full text is in report.json.", "",
              markdown_table(["id", "label", "categories", "keyword", "llama_guard", "text"],
                             [[r["id"], r["label"], ",".join(r["categories"]), r["keyword"]["status"],
                               r["llama_guard"]["status"], r["text"][:100]] for r in mistakes[:50]])]
    return "\n".join(lines) + "\n"


def answers_markdown(report: dict) -> str:
    s = report["summary"]
    lines = _header("Answer evaluation", report)
    lines += [f"Questions: `{report['questions_file']}`; documents `{report['collection']['dir']}`.", ""]
    rows = [["answered (not blocked)", pct(None if s["blocked"] is None else 1 - s["blocked"]), s["n"]],
            ["cites an evidence page/document by number", pct(s["cites_evidence"]), ""],
            ["evidence among the passages it was given", pct(s["evidence_in_sources"]), ""],
            ["contains the gold figure or phrase", pct(s["contains_gold"]), f"{s['checkable_gold']} checkable"],
            ["gold figures found (mean share)", pct(s["number_recall"]), ""],
            ["refusal when the gold answer is N/A (says \"not in the documents\")", pct(s["abstain_correct"]),
             f"{s['gold_na']} N/A"],
            ["wrong refusal (\"not in the documents\" when the gold answer is there)", pct(s["false_abstention"]),
             f"{s['n'] - s['gold_na']} answerable"],
            ["figures in the answers grounded in their passages", pct(s.get("figures_grounded_share")),
             f"{s.get('figures_grounded', 0)} of {s.get('figures', 0)}"],
            ["figures not in the sources (marked)", s.get("figures_ungrounded", 0),
             f"in {s.get('answers_with_ungrounded', 0)} answers"]]
    if "faithfulness" in s:
        rows += [["judge: faithfulness (1-5)", num(s["faithfulness"], 2), f"{s['faithfulness_unreadable']} unreadable"],
                 ["judge: relevance (1-5)", num(s["relevance"], 2), f"{s['relevance_unreadable']} unreadable"]]
    rows += [["turn latency p50 / p95", f"{ms(s['latency']['p50_ms'])} / {ms(s['latency']['p95_ms'])}", ""],
             ["decode speed", f"{num(s['tokens_per_s'], 1)} tokens/s", ""]]
    lines += ["## Summary", "", markdown_table(["check", "result", "over"], rows), ""] + _charts(report)
    lines += ["## Answers", "", markdown_table(
        ["id", "question", "answer", "cites evidence", "gold found", "figures", "grounded", "not in the sources",
         "refusal", "blocked", "latency"],
        [[r["id"], r["question"][:100], (r["answer"] or r["message"])[:200], _yes(r["cites_evidence"]),
          _yes(r["contains_gold"]), r.get("figures", 0), r.get("figures_grounded", 0),
          "; ".join(f"⚠ {x}" for x in r.get("ungrounded", [])) or "—", _refusal(r), r["blocked_by"] or "no",
          ms(r["latency_ms"])]
         for r in report["rows"]])]
    return "\n".join(lines) + "\n"


def _refusal(row: dict) -> str:
    """The refusal column: right (the gold is N/A), wrong (the gold is there), or an answer to an N/A question."""
    if row.get("blocked"):
        return "—"
    if row.get("gold_na"):
        return "refused (right)" if row.get("abstained") else "answered (gold is N/A)"
    return "**wrong refusal**" if row.get("abstained") else "—"


def _yes(v) -> str:
    return {True: "yes", False: "no", None: "—"}[v]


def _checks_text(checks: Sequence[dict]) -> str:
    return ", ".join(f"{c['stage'][0]}/{c['layer']}:{c['status']}" for c in checks)


def compare_markdown(report: dict) -> str:
    models = report["models"]
    lines = _header("Model comparison", report)
    lines += [f"Questions: `{report['questions_file']}`" + (f"; documents `{report['docs']}`" if report.get("docs")
                                                           else "; plain chat, no documents") + ".", ""]
    summary = [[m["label"], m["summary"]["n"], ms(m["summary"]["latency"]["mean_ms"]),
                ms(m["summary"]["first_token_ms"]), num(m["summary"]["tokens_per_s"], 1), m["summary"]["tokens"],
                m["summary"]["blocked"], ms(m["load_ms"])] for m in models]
    lines += ["## Summary", "", markdown_table(["model", "questions", "mean latency", "first token", "tokens/s",
                                                "tokens", "blocked", "load"], summary), ""] + _charts(report)
    lines += ["## Side by side", ""]
    for i, q in enumerate(report["questions"]):
        lines += [f"### {q['id']}: {q['question']}", ""]
        for m in models:
            r = m["rows"][i]
            body = r["answer"] if not r["blocked"] else f"[blocked: {r['blocked_by']}]"
            lines += [f"**{m['label']}** ({ms(r['latency_ms'])}, {num(r['tokens_per_s'], 1)} tokens/s; "
                      f"{_checks_text(r['checks'])})", "", "> " + (body or "(empty answer)").replace("\n", "\n> "), ""]
    return "\n".join(lines) + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}"
        ".answer{white-space:pre-wrap}.meta{color:#666;font-size:.85em}.blocked{color:#a00}")


def compare_html(report: dict) -> str:
    """A standalone page: summary, charts and one row per question with each model's answer beside the others."""
    e = html.escape
    models = report["models"]
    head = "".join(f"<th>{e(m['label'])}</th>" for m in models)
    summary = "".join(
        f"<tr><td>{e(m['label'])}</td><td>{ms(m['summary']['latency']['mean_ms'])}</td>"
        f"<td>{ms(m['summary']['first_token_ms'])}</td><td>{num(m['summary']['tokens_per_s'], 1)}</td>"
        f"<td>{m['summary']['blocked']}</td></tr>" for m in models)
    rows = []
    for i, q in enumerate(report["questions"]):
        cells = []
        for m in models:
            r = m["rows"][i]
            text = (f'<div class="blocked">blocked: {e(r["blocked_by"])}</div>' if r["blocked"]
                    else f'<div class="answer">{e(r["answer"]) or "(empty answer)"}</div>')
            cells.append(f'<td>{text}<div class="meta">{ms(r["latency_ms"])}, {num(r["tokens_per_s"], 1)} tokens/s'
                         f'<br>{e(_checks_text(r["checks"]))}</div></td>')
        rows.append(f"<tr><td><b>{e(q['id'])}</b><br>{e(q['question'])}</td>{''.join(cells)}</tr>")
    charts = "".join(f'<img src="{e(c)}" alt="{e(c)}" style="max-width:48%">' for c in report.get("charts", []))
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Hearth model comparison</title>"
            f"<style>{_CSS}</style></head><body><h1>Model comparison</h1>"
            f"<p>Created {e(report['created'])}; questions {e(str(report['questions_file']))}.</p>"
            f"<table><tr><th>model</th><th>mean latency</th><th>first token</th><th>tokens/s</th><th>blocked</th></tr>"
            f"{summary}</table><p>{charts}</p><h2>Side by side</h2><table><tr><th>question</th>{head}</tr>"
            f"{''.join(rows)}</table></body></html>\n")


def default_out_dir(kind: str) -> Path:
    return Path(f"hearth-eval-{kind}-{time.strftime('%Y%m%d-%H%M%S')}")


def write_report(out_dir: Path, report: dict, markdown: str, html_text: str | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.md", out_dir / "report.json"]
    written[0].write_text(markdown, encoding="utf-8")
    written[1].write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if html_text is not None:
        written.append(out_dir / "report.html")
        written[-1].write_text(html_text, encoding="utf-8")
    return written
