"""The `hearth` command, run as a user runs it: separate processes, real models, JSON out."""

import json
import sys
from pathlib import Path

import pytest

from conftest import AAPL_PDF, make_pdf

HEARTH = str(Path(sys.executable).parent / "hearth")


def hearth(*args, env=None, timeout=600):
    import os
    import subprocess

    return subprocess.run([HEARTH, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_ingest_search_ask_forget_across_restarts(tmp_path):
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.5 broken")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    notpdf = tmp_path / "slides.pdf"
    notpdf.write_bytes(b"PK\x03\x04 pptx")

    r = hearth("ingest", "--json", str(AAPL_PDF), str(corrupt), str(empty), str(notpdf))
    assert r.returncode == 1, r.stderr  # some files failed
    results = {Path(x["file"]).name: x for x in json.loads(r.stdout)}
    assert set(results[AAPL_PDF.name]) == {"file", "status", "doc_id", "pages", "chunks", "error", "warnings",
                                                 "ocr_pages", "encoding"}
    assert results[AAPL_PDF.name]["status"] == "indexed" and results[AAPL_PDF.name]["pages"] == 28
    assert "damaged" in results["corrupt.pdf"]["error"]
    assert "empty" in results["empty.pdf"]["error"]
    assert "not a PDF" in results["slides.pdf"]["error"]

    # A new process: the index is on disk.
    r = hearth("search", "--json", "iPhone net sales for the three months ended June 25, 2022", "-k", "5")
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    assert len(hits) == 5
    assert set(hits[0]) >= {"file", "page", "score", "text", "doc_id", "pages", "page_end", "start", "end", "section",
                            "content_hash", "dense_rank", "lexical_rank"}
    assert {h["file"] for h in hits} == {AAPL_PDF.name} and {6, 18} & {h["page"] for h in hits}

    r = hearth("--json", "ask", "What were total net sales in the third quarter of 2022?")
    assert r.returncode == 0, r.stderr
    turn = json.loads(r.stdout)
    assert turn["blocked"] is False and turn["answer"].strip()
    assert turn["citations"] and all(c["file"] == AAPL_PDF.name and c["page"] >= 1 for c in turn["citations"])
    assert [(c["stage"], c["layer"]) for c in turn["checks"]] == [
        ("question", "keyword"), ("question", "llama_guard"), ("question", "support"), ("answer", "keyword"),
        ("answer", "llama_guard"), ("answer", "figures")]
    assert all(set(f) == {"text", "kind", "value", "grounded", "n", "file", "page"} for f in turn["figures"])

    r = hearth("docs", "--json")
    (doc,) = json.loads(r.stdout)
    assert doc["file"] == AAPL_PDF.name and doc["status"] == "ready"
    r = hearth("ingest", "--json", str(AAPL_PDF))
    assert r.returncode == 0 and json.loads(r.stdout)[0]["status"] == "unchanged"

    r = hearth("forget", "--json", doc["doc_id"])
    assert r.returncode == 0 and json.loads(r.stdout)[0]["doc_id"] == doc["doc_id"]
    assert json.loads(hearth("docs", "--json").stdout) == []
    assert json.loads(hearth("search", "--json", "iPhone").stdout) == []
    r = hearth("forget", "nothing-like-this")
    assert r.returncode == 1 and "no document matches" in r.stderr


def test_blocked_question_and_strict_guard_mode(tmp_path):
    r = hearth("ask", "--json", "how do I build a bomb")
    turn = json.loads(r.stdout)
    assert turn["blocked"] and turn["blocked_by"] == "question/keyword" and turn["answer"] == ""

    r = hearth("--require-llama-guard", "--json", "ask", "What was revenue?")
    turn = json.loads(r.stdout)
    assert turn["blocked"] and turn["blocked_by"] == "question/llama_guard"
    assert "require_llama_guard" in turn["message"]


def test_guard_command_without_the_chat_model(tmp_path):
    r = hearth("guard", "--json", "How do I build a pipe-bomb?")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["decision"] == "blocked" and out["keyword"]["status"] == "blocked"
    assert out["llama_guard"]["status"] == "missing"

    r = hearth("guard", "--json", "What was revenue?", "--answer", "Revenue was $10 billion.")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["stage"] == "answer" and out["decision"] == "allowed"

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("What is the dividend?\n\nhow to make a bomb\n", encoding="utf-8")
    r = hearth("guard", "--file", str(prompts))
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["decision"] for x in lines] == ["allowed", "blocked"]


def test_doctor_and_models_report_the_missing_guard():
    r = hearth("doctor", "--json")
    report = json.loads(r.stdout)
    assert report["guard"]["status"] == "missing" and "keyword filter only" in report["guard"]["mode"]
    assert report["chat_model"]["found"] and report["embedding_model"]["found"]
    assert report["gpu"]["offload_supported"] in (True, False)
    assert any("Llama Guard" in p for p in report["problems"])
    human = hearth("doctor").stdout
    assert "llama guard   MISSING" in human
    from guard import fastscan  # the keyword filter's compiled scanner, when pip built it

    assert report["keyword_scanner"] == ("compiled" if fastscan.built() else "numpy")
    assert ("keyword scan  compiled" if fastscan.built() else "the fast scanner is not built") in human

    models = {m["name"]: m for m in json.loads(hearth("models", "list", "--json").stdout)}
    assert models["smollm2-135m-instruct"]["installed"] and not models["llama-guard-3-1b"]["installed"]


def test_models_pull_offline_says_what_to_do():
    r = hearth("models", "pull", "llama-guard-3-1b", timeout=120)
    assert r.returncode == 1
    assert "could not download" in r.stderr and "HEARTH_GUARD_MODEL" in r.stderr
    assert "Traceback" not in r.stderr
    r = hearth("models", "pull", "no-such-model")
    assert r.returncode == 1 and "unknown model" in r.stderr


def test_bad_setting_is_a_clear_usage_error():
    r = hearth("docs", env={"HEARTH_TOP_K": "many"})
    assert r.returncode == 2 and "top_k (from environment)" in r.stderr and "Traceback" not in r.stderr


def test_config_file_and_flags(tmp_path, monkeypatch):
    monkeypatch.delenv("HEARTH_DATA_DIR")  # let the config file choose the data dir
    cfg = tmp_path / "hearth.toml"
    cfg.write_text(f'collection = "from-file"\ndata_dir = "{tmp_path / "cfgdata"}"\n')
    pdf = make_pdf(tmp_path / "note.pdf", ["A short note about quarterly planning."])
    r = hearth("--config", str(cfg), "ingest", "--json", str(pdf))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "cfgdata" / "catalog.sqlite3").exists()
    assert json.loads(hearth("--config", str(cfg), "docs", "--json").stdout)[0]["collection"] == "from-file"
    assert json.loads(hearth("--config", str(cfg), "--collection", "other", "docs", "--json").stdout) == []


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["--version"]])
def test_help_and_version(args):
    r = hearth(*args)
    assert r.returncode == 0 and ("Usage" in r.stdout or "hearth" in r.stdout)


def test_words_add_list_remove_and_the_next_ask_is_checked_with_them():
    r = hearth("words", "add", "Competitors", "Globex", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"competitors": ["Globex"]}
    assert json.loads(hearth("words", "--json").stdout) == {"competitors": ["Globex"]}
    blocked = json.loads(hearth("guard", "--json", "Who buys from Globex?").stdout)
    assert blocked["decision"] == "blocked" and "competitors" in json.dumps(blocked)
    r = hearth("words", "remove", "competitors", "Initech")
    assert r.returncode == 1 and "is not in your 'competitors' list" in r.stderr and "Traceback" not in r.stderr
    r = hearth("words", "add", "Bad Name!", "x")
    assert r.returncode == 2 and "is not usable" in r.stderr
    assert json.loads(hearth("words", "remove", "competitors", "Globex", "--json").stdout) == {"competitors": []}
