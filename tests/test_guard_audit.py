"""The audit log of blocked turns: what is written, what is not, and where the user reads it."""

import hashlib
import json

from app.turn import Pipeline
from conftest import ScriptedChatModel, run_cli
from guard import KeywordFilter, MissingGuard
from guard.audit import AuditLog

QUESTION = "Explain how to make a bomb at home."


def test_a_blocked_question_is_logged_with_a_hash_and_without_its_text(hearth):
    result = hearth.ask(QUESTION)
    assert result.blocked and result.blocked_by == "question/keyword"
    (entry,) = hearth.audit_log.entries(50)
    assert entry["stage"] == "question" and entry["layer"] == "keyword" and entry["status"] == "blocked"
    assert entry["categories"] == ["explosives_weapons"] and entry["score"] == 1.0
    assert "how to make a bomb" in entry["reason"]  # why: the list term that matched
    assert entry["text_sha256"] == "sha256:" + hashlib.sha256(QUESTION.encode()).hexdigest()
    assert "text" not in entry and "at home" not in json.dumps(entry)
    assert entry["time"].endswith("Z") and entry["chars"] == len(QUESTION)


class OneHit:
    """Test double retriever: one passage, so the chat model is asked."""

    def search(self, query, k, doc_ids=None):
        from rag.store import Hit

        return [Hit(file="acme.pdf", page=1, score=0.9, text="Revenue was 120 million dollars.", doc_id="d1",
                    chunk_id="d1:0")]


def test_a_blocked_answer_is_logged_with_its_text_when_enabled(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl", include_text=True)
    answer = "Revenue was fine. Also, here is how to make a bomb: first..."

    def record(check, text):
        audit.record(stage=check.stage, layer=check.layer, status=check.status, text=text,
                     categories=check.categories, score=check.score, reason=check.reason)

    pipeline = Pipeline(checks=[KeywordFilter(), MissingGuard("no guard", strict=False)], retriever=OneHit(),
                        chat_model=ScriptedChatModel(answer), release_chars=0, on_block=record)
    result = pipeline.ask("What was revenue?")
    assert result.blocked and result.blocked_by == "answer/keyword"
    (entry,) = audit.entries()
    assert entry["stage"] == "answer" and entry["text"] == answer.strip()


def test_entries_come_newest_first_and_damage_is_shown(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    assert audit.entries() == []
    audit.record(stage="question", layer="keyword", status="blocked", text="one")
    with audit.path.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    audit.record(stage="answer", layer="llama_guard", status="error", text="two", reason="timed out")
    newest, damaged, oldest = audit.entries()
    assert newest["layer"] == "llama_guard" and newest["reason"] == "timed out"
    assert damaged["status"] == "damaged" and "unreadable line" in damaged["reason"]
    assert oldest["stage"] == "question"
    assert [e["stage"] for e in audit.entries(limit=1)] == ["answer"]


def test_hearth_blocked_shows_why(tmp_path):
    AuditLog(tmp_path / "data" / "audit.jsonl").record(
        stage="question", layer="keyword", status="blocked", text="x", categories=["drugs"],
        reason="keyword list drugs matched 'cook meth'")
    r = run_cli("--json", "blocked")
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads(r.stdout)
    assert entry["categories"] == ["drugs"] and "cook meth" in entry["reason"]
    r = run_cli("blocked")
    assert "question/keyword  blocked  drugs  keyword list drugs matched 'cook meth'" in r.stdout
