"""Word-list folders the user edits: reloaded live, allow-lists, safe writes, and bad input."""

import pytest

from guard import KeywordFilter
from core.errors import InputError
from guard.listfiles import add_terms, check_term, read_terms, remove_terms

SECRET = "the secret project codename bluebird"


def test_user_lists_are_reloaded_without_restart(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    kf = KeywordFilter([folder])
    assert kf.scan(SECRET) == []
    (folder / "confidential.txt").write_text("# project names\ncodename bluebird\n", encoding="utf-8")
    (m,) = kf.scan(SECRET)
    assert (m.category, m.list) == ("confidential", "lists")
    (folder / "allow.txt").write_text("secret project codename bluebird\n", encoding="utf-8")
    assert kf.scan(SECRET) == []
    assert kf.scan("codename bluebird") != []  # the allow-list phrase must cover the match
    (folder / "allow.txt").unlink()
    assert kf.scan(SECRET) != []


def test_a_folder_that_does_not_exist_yet_is_empty_then_read(tmp_path):
    folder = tmp_path / "later"
    kf = KeywordFilter([folder])
    assert kf.term_count == 0 and kf.scan("codename bluebird") == []
    add_terms(folder, "confidential", ["codename bluebird"])
    assert kf.scan("codename  BLUEBIRD!")[0].category == "confidential"


def test_add_and_remove_terms(tmp_path):
    folder = tmp_path / "lists"
    assert add_terms(folder, "projects", ["Codename Bluebird", "蓝鸟计划"]) == ["Codename Bluebird", "蓝鸟计划"]
    assert add_terms(folder, "projects", ["codename  bluebird", "Falcon X"]) == ["Falcon X"]  # same term, normalised
    (folder / "projects.txt").write_text((folder / "projects.txt").read_text() + "# keep this comment\n")
    assert [t for _, t in read_terms(folder / "projects.txt")] == ["Codename Bluebird", "蓝鸟计划", "Falcon X"]
    assert remove_terms(folder, "projects", ["CODENAME BLUEBIRD"]) == ["Codename Bluebird"]
    text = (folder / "projects.txt").read_text()
    assert "Bluebird" not in text and "# keep this comment" in text and "蓝鸟计划" in text
    assert remove_terms(folder, "nothing_here", ["x y"]) == []
    assert not list(folder.glob(".*.tmp"))  # no temporary files left behind


@pytest.mark.parametrize("term,message", [
    ("", "too short"),
    ("a", "too short"),
    ("!!", "too short"),
    ("炸", "too short"),
    ("two\nlines", "one line"),
    ("price #1", "comment"),
])
def test_bad_terms_are_refused_with_a_reason(term, message):
    with pytest.raises(InputError, match=message):
        check_term(term)


@pytest.mark.parametrize("category", ["", "../etc", "a b", "x" * 65, "nested/name"])
def test_bad_category_names_are_refused(tmp_path, category):
    with pytest.raises(InputError, match="is not usable"):
        add_terms(tmp_path, category, ["some term"])


def test_a_list_file_that_is_not_utf8_blocks_with_the_file_named(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "broken.txt").write_bytes("炸弹制作\n".encode("gbk"))
    with pytest.raises(InputError, match="broken.txt is not UTF-8"):
        KeywordFilter([folder])
    good = KeywordFilter([tmp_path / "elsewhere"])
    good.folders.append(folder)  # a list broken after start-up blocks every turn, saying why
    v = good.check([("user", "hello")])
    assert v.status == "error" and not v.allowed and "broken.txt is not UTF-8" in v.reason


def test_a_folder_path_that_is_a_file_is_an_error(tmp_path):
    f = tmp_path / "lists.txt"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        KeywordFilter([f])


def test_too_short_terms_in_a_file_are_skipped_and_reported(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "mine.txt").write_text("a\nfine phrase\n", encoding="utf-8")
    kf = KeywordFilter([folder])
    assert kf.term_count == 1 and "mine.txt:1" in kf.problems[0]
    assert kf.scan("a fine phrase")[0].term == "fine phrase"
