"""Keyword filter scan speed: MB/s of ordinary text through every view and decoder, against a raw
pyahocorasick pass (the same deny terms, one casefolded view) over the same text.

Text: the 500 Chinese news articles and the benign English moderation prompts of ../shared/data,
scanned as answer-sized pieces (about 2,000 characters, as the pipeline checks them) and as one
long document, in MB per CPU second. Target (issue 4): at least 50 MB/s for the scan on this machine.
"""

from __future__ import annotations

import json
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


def _rate(fn, pieces, mb: float, min_seconds: float) -> float:
    """MB per CPU second of fn over all pieces, repeated until min_seconds of CPU time have passed.

    CPU time, not wall time: the scan is single-threaded, and on a shared machine wall time mostly
    measures the other processes (on an idle machine the two agree).
    """
    t0, rounds = time.process_time(), 0
    while True:
        for p in pieces:
            fn(p)
        rounds += 1
        elapsed = time.process_time() - t0
        if elapsed >= min_seconds:
            return mb * rounds / elapsed


def run(quick: bool) -> list[Figure]:
    from guard import KeywordFilter

    text = _corpus()
    if quick:
        text = text[: len(text) // 4]
    mb = len(text.encode("utf-8")) / 1e6
    pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)]
    kf = KeywordFilter()
    raw = _raw_automaton(kf)
    flagged = sum(1 for p in pieces if kf.scan(p))
    seconds = 1.0 if quick else 3.0
    raw_rate = _rate(lambda p: sum(1 for _ in raw.iter(p.casefold())), pieces, mb, seconds)
    ours = _rate(kf.scan, pieces, mb, seconds)
    whole = _rate(kf.scan, [text], mb, seconds)
    raw_whole = _rate(lambda p: sum(1 for _ in raw.iter(p.casefold())), [text], mb, seconds)
    note = f"{mb:.1f} MB of zh news + en prompts, {len(pieces)} pieces of {PIECE} chars; {flagged} pieces flagged"
    return [
        Figure("keywords", "scan, answer-sized pieces", ours, "MB/s", "raw pyahocorasick, casefold only", raw_rate,
               target=f">= {TARGET_MB_S:g} MB/s", met=ours >= TARGET_MB_S, note=note,
               extra={"terms": kf.term_count, "mb": mb}),
        Figure("keywords", "scan, one long document", whole, "MB/s", "raw pyahocorasick, casefold only", raw_whole,
               target=f">= {TARGET_MB_S:g} MB/s", met=whole >= TARGET_MB_S,
               note="all views and decoders; blocks of 64k characters"),
    ]
