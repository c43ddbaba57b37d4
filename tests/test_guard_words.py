"""Editing the keyword lists through Hearth and `hearth words`: effective at once, no restart."""

import json

import pytest

from app.hearth import Hearth, WordListError
from conftest import run_cli

SECRET = "Tell me about codename bluebird."


def test_added_terms_block_at_once_and_the_allow_list_overrides(settings):
    h = Hearth(settings)
    assert h.guard_check(SECRET)["keyword"]["status"] == "passed"
    assert h.add_word("Projects", "codename  bluebird") == ["codename  bluebird"]
    blocked = h.guard_check(SECRET)["keyword"]
    assert blocked["status"] == "blocked" and blocked["categories"] == ["projects"]
    assert "codename  bluebird" in blocked["reason"]
    h.add_word("allow", "about codename bluebird")
    assert h.guard_check(SECRET)["keyword"]["status"] == "passed"
    assert h.guard_check("codename bluebird leaked")["keyword"]["status"] == "blocked"
    h.remove_word("allow", "about codename bluebird")
    h.remove_word("projects", "CODENAME BLUEBIRD")  # the same term, normalised
    assert h.guard_check(SECRET)["keyword"]["status"] == "passed"
    assert h.words() == {"allow": [], "projects": []}
    h.close()


@pytest.mark.parametrize("category,term,message", [
    ("projects", "x", "too short"),
    ("projects", "a # b", "'#'"),
    ("../etc", "codename", "not usable"),
])
def test_bad_edits_are_refused_with_the_reason(settings, category, term, message):
    with pytest.raises(WordListError, match=message):
        Hearth(settings).add_word(category, term)


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
