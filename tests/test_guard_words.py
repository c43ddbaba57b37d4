"""Editing the keyword lists through Hearth and `hearth words`: effective at once, no restart."""

import json

import pytest

from app.hearth import Hearth
from conftest import run_cli
from core.errors import InputError

SECRET = "Tell me about codename bluebird."


def keyword_check(h: Hearth, text: str) -> dict:
    """The keyword layer's check of a question, as a turn runs it."""
    return next(c.to_dict() for c in h.pipeline(retrieve=False).check(text) if c.layer == "keyword")


def test_added_terms_block_at_once_and_the_allow_list_overrides(settings):
    h = Hearth(settings)
    assert keyword_check(h, SECRET)["status"] == "passed"
    assert h.words.add("Projects", "codename  bluebird") == ["codename  bluebird"]
    blocked = keyword_check(h, SECRET)
    assert blocked["status"] == "blocked" and blocked["categories"] == ["projects"]
    assert "codename  bluebird" in blocked["reason"]
    h.words.add("allow", "about codename bluebird")
    assert keyword_check(h, SECRET)["status"] == "passed"
    assert keyword_check(h, "codename bluebird leaked")["status"] == "blocked"
    h.words.remove("allow", "about codename bluebird")
    h.words.remove("projects", "CODENAME BLUEBIRD")  # the same term, normalised
    assert keyword_check(h, SECRET)["status"] == "passed"
    assert h.words.lists() == {"allow": [], "projects": []}
    assert [e["layer"] for e in h.audit_log.entries(10)] == ["keyword", "keyword"]  # guard checks are audited
    h.close()


@pytest.mark.parametrize("category,term,message", [
    ("projects", "x", "too short"),
    ("projects", "a # b", "'#'"),
    ("../etc", "codename", "is not usable"),
])
def test_bad_edits_are_refused_with_the_reason(settings, category, term, message):
    with pytest.raises(InputError, match=message):
        Hearth(settings).words.add(category, term)


def test_words_command_adds_lists_and_removes(tmp_path):
    r = run_cli("words", "add", "projects", "codename bluebird", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"projects": ["codename bluebird"]}
    r = run_cli("--json", "words")
    assert json.loads(r.stdout) == {"projects": ["codename bluebird"]}
    r = run_cli("words", "remove", "projects", "falcon x")
    assert r.returncode == 1 and "is not in your 'projects' list" in r.stderr
    r = run_cli("words", "remove", "projects", "codename bluebird")
    assert r.returncode == 0 and "projects: (empty)" in r.stdout
