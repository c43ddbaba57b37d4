"""app/services and core/errors: the rules the page, the API and the CLI share, tested once, without a model."""

import pytest

from app.api.openai_format import api_error
from app.services.documents import Quotas, check_collection_name
from core.errors import (DocumentLoadError, DownloadError, GuardModelError, HearthError, InputError, LimitError,
                         ModelError, ModelNotFoundError, NotFoundError, SettingsError)


@pytest.mark.parametrize("name", ["default", "annual-reports", "Q3.2024", "a", "x" * 64, "  padded  "])
def test_collection_names_that_follow_the_rule(name):
    assert check_collection_name(name) == name.strip()


@pytest.mark.parametrize("name,message", [
    ("", "1 to 64 characters"), ("   ", "1 to 64 characters"), ("x" * 65, "1 to 64 characters"),
    ("two words", "1 to 64 characters"), ("../up", "1 to 64 characters"), ("年报", "1 to 64 characters"),
    ("-dash-first", "1 to 64 characters"),
    ("key-abc123-secret", "Hearth's own"), ("visitor-0123", "Hearth's own"),  # an API key's or a visitor's
])
def test_collection_names_that_break_it_say_why(name, message):
    with pytest.raises(InputError, match=message):
        check_collection_name(name)


def test_an_existing_collection_stays_choosable_on_the_page(hearth):
    list(hearth.ingest([make_note(hearth.settings.data_dir / "n.txt")], collection="old name"))  # an older rule's
    assert hearth.documents.choose("old name") == "old name"
    assert hearth.documents.choose(" fresh-one ") == "fresh-one"
    with pytest.raises(InputError):
        hearth.documents.choose("new name")


def make_note(path, size=40):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("A note about the quarterly budget. " * (size // 36 + 1), encoding="utf-8")
    return path


def test_quotas_name_what_was_exceeded(tmp_path):
    q = Quotas(max_files=2, max_file_mb=1, max_documents=3)
    small = [make_note(tmp_path / f"n{i}.txt") for i in range(3)]
    q.check(small[:2], held=1)
    with pytest.raises(LimitError, match="At most 2 files per upload in this demo; you sent 3"):
        q.check(small, held=0)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (2**20 + 1))
    with pytest.raises(LimitError, match="big.txt is 1.0 MB; this demo takes files of at most 1 MB"):
        q.check([big], held=0)
    with pytest.raises(LimitError, match="at most 3 documents per visitor; you have 2"):
        q.check(small[:2], held=2)


def test_quotas_apply_to_every_ingest_in_spaces_mode(settings, embedder, tmp_path):
    from app.hearth import Hearth

    h = Hearth(settings.model_copy(update={"mode": "spaces", "spaces_max_files": 1}), embedder=embedder)
    try:
        with pytest.raises(LimitError, match="At most 1 files"):
            h.ingest([make_note(tmp_path / "a.txt"), make_note(tmp_path / "b.txt")], collection="visitor-x")
        assert h.documents.list("visitor-x") == []
    finally:
        h.close()


def test_every_error_belongs_to_one_family_and_maps_to_one_status():
    families = {InputError: 400, NotFoundError: 404, LimitError: 429, ModelError: 503}
    cases = [(InputError("bad"), 400), (SettingsError("top_k"), 400), (DocumentLoadError("a.pdf", "damaged"), 400),
             (NotFoundError("no doc"), 404), (ModelNotFoundError("no model"), 404), (LimitError("quota"), 429),
             (ModelError("server down"), 503), (GuardModelError("not a guard"), 503), (DownloadError("offline"), 503),
             (HearthError("other"), 500)]
    for error, status in cases:
        assert sum(isinstance(error, f) for f in families) <= 1  # no error is in two families
        mapped = api_error(error)
        assert mapped.status == status and mapped.message == str(error)
    assert isinstance(InputError("x"), ValueError) and isinstance(ModelNotFoundError("x"), FileNotFoundError)


@pytest.mark.parametrize("raw,shown", [
    ("report.pdf", "report.pdf"),
    ("/tmp/x/annual report 2023.pdf", "annual report 2023.pdf"),
    ("invoice\u202efdp.exe", "invoice[U+202E]fdp.exe"),  # shows as 'invoiceexe.pdf' where the override acts
    ("a\x07b\x1b[31m.txt", "a[U+0007]b[U+001B][31m.txt"),
    ("..\\..\\evil.txt", "evil.txt"), ("季度报告.txt", "季度报告.txt"), ("zero\u200bwidth.md", "zero[U+200B]width.md"),
])
def test_file_names_are_stored_and_shown_with_nothing_hidden(raw, shown):
    from core.names import display_name

    assert display_name(raw) == shown


def test_an_ingested_file_with_a_disguised_name_is_stored_with_it_visible(hearth, tmp_path):
    sneaky = tmp_path / "invoice\u202efdp.txt"
    sneaky.write_text("Invoice for consulting services, total 1,200 dollars.", encoding="utf-8")
    [r] = hearth.ingest([sneaky])
    assert r.status == "indexed"
    [doc] = hearth.documents.list()
    assert doc.file == "invoice[U+202E]fdp.txt" and hearth.search("consulting invoice", k=1)[0].file == doc.file
    assert hearth.documents.forget("invoice\u202efdp.txt") == [doc]  # the name as the user has it still works
