"""The API's pure parts without a model: message reading, model names, rate limits, the key store."""

import pytest

from app.api.keys import KeyStore
from core.errors import InputError
from app.api.openai_format import ApiError, completion, read_messages, resolve_model
from app.turn import Check, TurnResult
from app.api.ratelimit import RateLimiter


def test_read_messages_splits_question_history_and_system():
    inputs = read_messages([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "One."},
        {"role": "user", "content": [{"type": "text", "text": "Second?"}]},
    ])
    assert inputs.question == "Second?"
    assert inputs.history == [("First?", "One.")]
    assert inputs.system == "Be brief."
    assert inputs.screen == ["Be brief.", "First?", "One."]


@pytest.mark.parametrize("messages", [[], [{"role": "assistant", "content": "hi"}],
                                      [{"role": "user", "content": "  "}],
                                      [{"role": "tool", "content": "x"}, {"role": "user", "content": "q"}],
                                      [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]])
def test_read_messages_refuses_what_it_cannot_answer(messages):
    with pytest.raises(ApiError) as e:
        read_messages(messages)
    assert e.value.status == 400


def test_resolve_model():
    assert resolve_model("hearth", None) is None
    assert resolve_model("hearth", "pets") == "pets"
    assert resolve_model("hearth-rag", None) == ""
    assert resolve_model("hearth-rag:pets", None) == "pets"
    with pytest.raises(ApiError) as e:
        resolve_model("gpt-4o", None)
    assert e.value.status == 404 and e.value.code == "model_not_found"


def test_blocked_turn_is_a_content_filter_completion():
    turn = TurnResult("q", blocked=True, blocked_by="question/keyword", message="Blocked: no.",
                      checks=[Check("question", "keyword", "blocked", ("explosives_weapons",))])
    out = completion(turn, model="hearth", max_tokens=16)
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["choices"][0]["message"]["content"] == "Blocked: no."
    assert out["hearth"]["categories"] == ["explosives_weapons"]


def test_rate_limiter_requests_then_tokens():
    rl = RateLimiter()
    assert rl.admit("k", rpm=2, tpm=0, now=0.0) == 0 and rl.admit("k", rpm=2, tpm=0, now=1.0) == 0
    assert rl.admit("k", rpm=2, tpm=0, now=2.0) == 58  # the first request leaves the window at 60 s
    assert rl.admit("k", rpm=2, tpm=0, now=60.5) == 0
    assert rl.admit("other", rpm=2, tpm=0, now=2.0) == 0  # keys do not share a window
    rl.spend("t", 100, now=0.0)
    assert rl.admit("t", rpm=0, tpm=50, now=10.0) == 50
    assert rl.admit("t", rpm=0, tpm=50, now=60.1) == 0


def test_key_store_hashes_verifies_and_revokes(tmp_path):
    store = KeyStore(tmp_path / "keys.sqlite3")
    key, secret = store.create("wiki", models=("hearth-rag:*",), endpoints=("chat",), rpm=5, tpm=100)
    assert secret not in (tmp_path / "keys.sqlite3").read_bytes().decode("latin-1")
    assert store.verify(secret) == key and store.verify(secret + "x") is None and store.verify("") is None
    assert key.allows_model("hearth-rag:pets") and not key.allows_model("hearth")
    assert key.allows_endpoint("chat") and not key.allows_endpoint("embeddings")
    with pytest.raises(InputError, match="exists already"):
        store.create("wiki")
    with pytest.raises(InputError, match="unknown endpoint"):
        store.create("bad", endpoints=("files",))
    store.revoke("wiki")
    assert store.verify(secret) is None and store.list() == []
    assert [k.name for k in store.list(include_revoked=True)] == ["wiki"]
    store.close()


def test_cli_creates_lists_and_revokes_keys(tmp_path):
    import json

    from conftest import run_cli

    env = {"HEARTH_DATA_DIR": str(tmp_path / "data")}
    made = run_cli("keys", "create", "wiki", "--model", "hearth-rag:*", "--endpoint", "chat", "--rpm", "5", "--json",
                   env=env)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["key"].startswith("hearth-") and key["models"] == ["hearth-rag:*"] and key["rpm"] == 5
    listed = json.loads(run_cli("keys", "list", "--json", env=env).stdout)
    assert [k["name"] for k in listed] == ["wiki"] and "key" not in listed[0]
    assert run_cli("keys", "revoke", "wiki", env=env).returncode == 0
    assert json.loads(run_cli("keys", "--json", env=env).stdout) == []
    again = run_cli("keys", "revoke", "wiki", env=env)
    assert again.returncode != 0 and "no active key" in again.stderr
