"""Keyword filter scan speed: MB/s of ordinary text through every view and decoder, against a raw
pyahocorasick pass (the same deny terms, one casefolded view) over the same text.

Text: the 500 Chinese news articles and the benign English moderation prompts of ../shared/data,
scanned as answer-sized pieces (about 2,000 characters, as the pipeline checks them) and as one
long document, in MB per CPU second (the best of rounds taken in turn with the baseline: see _rates). Target
(issue 4): at least 50 MB/s for the scan on this machine.
The scan runs with the compiled scanner (guard/_fastscan.c) when it was built, and is measured
again without it; the notes say which ran.
"""

from __future__ import annotations

import json
import statistics
import time

from benchmarks.common import SHARED_DATA, Figure

TARGET_MB_S = 50.0
PIECE = 2000


def _corpus() -> str:
    news = [json.loads(line)["text"] for line in
            (SHARED_DATA / "zh_news_benign" / "crud_rag_news_sample500.jsonl").read_text(encoding="utf-8").splitlines()]
    labels = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")
    rows = [json.loads(line) for line in (SHARED_DATA / "openai_moderation.jsonl").read_text(encoding="utf-8").splitlines()]
    prompts = [r["prompt"] for r in rows if not any(r.get(k) == 1 for k in labels)]
    return "\n\n".join(news + prompts)


def _raw_automaton(kf):
    import ahocorasick

    auto = ahocorasick.Automaton()
    for f in kf.files():
        for _, term in __import__("guard.listfiles", fromlist=["read_terms"]).read_terms(f):
            if f.stem != "allow":
                auto.add_word(term.casefold(), term)
    auto.make_automaton()
    return auto


def _rates(fns: dict, pieces, mb: float, rounds: int) -> dict[str, tuple[float, float]]:
    """{name: (best, median)} MB per CPU second of each fn over all pieces, one pass a round, the fns taking
    turns round by round.

    CPU time, not wall time: the scan is single-threaded, and on a shared machine wall time mostly
    measures the other processes. Even CPU time swings here (the host slows this machine down in dips
    of seconds, the raw baseline alone measured 17 to 29 MB/s within ten minutes), so the fns alternate,
    each meets the same dips, and the best round of each is its figure: what the code does when the
    machine is not held back. The median is in the notes.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.process_time()
            for p in pieces:
                fn(p)
            times[name].append(time.process_time() - t0)
    return {name: (mb / min(t), mb / statistics.median(t)) for name, t in times.items()}


def run(quick: bool) -> list[Figure]:
    from guard import KeywordFilter, fastscan

    text = _corpus()
    if quick:
        text = text[: len(text) // 4]
    mb = len(text.encode("utf-8")) / 1e6
    pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)]
    kf = KeywordFilter()
    raw = _raw_automaton(kf)
    flagged = sum(1 for p in pieces if kf.scan(p))
    rounds = 10 if quick else 40
    casefold = lambda p: sum(1 for _ in raw.iter(p.casefold()))  # noqa: E731
    scanner = "compiled scanner (guard/_fastscan.c)" if fastscan.built() else "numpy paths: guard/_fastscan.c not built"
    extra = {"terms": kf.term_count, "mb": mb, "compiled": fastscan.built(), "rounds": rounds}
    how = f"best of {rounds} rounds, taking turns with the baseline"

    def figure(name, part, part_mb, note, target=True, scanner=scanner):
        r = _rates({"ours": kf.scan, "raw": casefold}, part, part_mb, rounds)
        (ours, ours_median), (raw_rate, raw_median) = r["ours"], r["raw"]
        return Figure("keywords", name, ours, "MB/s", "raw pyahocorasick, casefold only", raw_rate,
                      target=f">= {TARGET_MB_S:g} MB/s" if target else "", met=ours >= TARGET_MB_S if target else None,
                      note=f"{note}; {how} (medians {ours_median:.1f} and {raw_median:.1f} MB/s); {scanner}",
                      extra={**extra, "median": ours_median, "baseline_median": raw_median})

    figures = [
        figure("scan, answer-sized pieces", pieces, mb,
               f"{mb:.1f} MB of zh news + en prompts, {len(pieces)} pieces of {PIECE} chars; {flagged} pieces flagged"),
        figure("scan, one long document", [text], mb, "all views and decoders; blocks of 64k characters"),
    ]
    # Where the time goes: Chinese pieces (3 bytes a character) and English ones, apart.
    for label, part in (("Chinese", [p for p in pieces if _mostly_cjk(p)]),
                        ("English", [p for p in pieces if not _mostly_cjk(p)])):
        part_mb = sum(len(p.encode("utf-8")) for p in part) / 1e6
        if part:
            figures.append(figure(f"scan, {label} pieces only", part, part_mb, f"{len(part)} pieces, {part_mb:.2f} MB",
                                  target=False))
    if fastscan.built():  # the same scan without the compiled scanner, as where it is not built
        compiled, fastscan.compiled = fastscan.compiled, None
        try:
            figures.append(figure("scan, answer-sized pieces, numpy paths only", pieces, mb,
                                  "guard/_fastscan.c switched off: what a machine without a C compiler gets",
                                  target=False, scanner="numpy paths"))
        finally:
            fastscan.compiled = compiled
    return figures


def _mostly_cjk(piece: str) -> bool:
    return sum(1 for c in piece if "\u4e00" <= c <= "\u9fff") > len(piece) // 4
