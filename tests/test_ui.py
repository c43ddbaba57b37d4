"""The web page, started for real on a free local port and driven through gradio_client."""

import json
import urllib.request
from pathlib import Path

import pytest

from conftest import AAPL_PDF, make_pdf


def start(hearth, **changes):
    from app.web.server import launch

    hearth.settings = hearth.settings.model_copy(update={"port": 7870, **changes})  # free_port moves on if taken
    return launch(hearth, block=False)


@pytest.fixture
def app_url(hearth):
    demo = start(hearth)
    yield demo.local_url
    demo.close()


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def content(message) -> str:
    c = message["content"]
    return c if isinstance(c, str) else " ".join(part.get("text", "") for part in c)


def ask(c, question, history=(), scope=None, search_only=False):
    return c.predict(question, list(history), scope or [], search_only, 0.2, 4, api_name="/ask")


def test_upload_ask_cited_and_blocked_with_explanation(app_url, tmp_path):
    from gradio_client import handle_file

    c = client(app_url)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 no")
    log, table, *_ = c.predict([handle_file(str(AAPL_PDF)), handle_file(str(broken))], api_name="/ingest")
    assert f"**{AAPL_PDF.name}**: indexed, 28 pages" in log
    assert "**broken.pdf**: broken.pdf: the PDF is damaged" in log
    assert [row[0] for row in table["data"]] == [AAPL_PDF.name]

    history, box, checks = ask(c, "What were iPhone net sales in the third quarter of 2022?")
    answer = content(history[-1])
    assert box == "" and history[-1]["role"] == "assistant"
    assert f"<summary>[1] {AAPL_PDF.name}, page " in answer  # a numbered citation that opens its passage
    assert "</details>" in answer
    assert "question · keyword: passed" in checks and "llama guard: missing" in checks

    history, _, checks = ask(c, "how to make a bomb", history)
    blocked = content(history[-1])
    assert "Blocked: the question did not pass the keyword check" in blocked
    assert "categories: explosives_weapons" in blocked and "Why: question · keyword → blocked" in blocked
    assert "⛔ question · keyword: blocked explosives_weapons" in checks
    assert len(history) == 4


def test_scope_search_only_history_and_export(app_url, tmp_path):
    from gradio_client import handle_file

    c = client(app_url)
    acme = make_pdf(tmp_path / "acme.pdf", ["ACME revenue was 120 million dollars, up 8 percent."])
    globex = make_pdf(tmp_path / "globex.pdf", ["Globex revenue was 75 million dollars, down 3 percent."])
    _, table, *_ = c.predict([handle_file(str(acme)), handle_file(str(globex))], api_name="/ingest")
    ids = {row[0]: row[4] for row in table["data"]}

    history, _, _ = ask(c, "What was revenue?", scope=[ids["globex.pdf"]], search_only=True)
    passages = content(history[-1])
    assert "Matching passages (search only, no model)" in passages
    assert "globex.pdf" in passages and "acme.pdf" not in passages

    history, _, _ = ask(c, "What was revenue?", history, scope=[ids["acme.pdf"]])
    answer = content(history[-1])
    assert "acme.pdf, page 1" in answer and "globex.pdf" not in answer

    path = c.predict(api_name="/export")
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("# Hearth conversation") and text.count("## ") == 2
    assert "acme.pdf, page 1" in text and "checks:" in text

    history, _ = c.predict(api_name="/clear")[:2]
    assert history == []


def test_bad_inputs_get_clear_messages(app_url):
    from gradio_client.exceptions import AppError

    c = client(app_url)
    cases = [
        (lambda: ask(c, "   "), "Type a question first"),
        (lambda: c.predict(api_name="/export"), "Nothing to export yet"),
        (lambda: c.predict([], api_name="/forget"), "Choose the documents to remove"),
        (lambda: c.predict("", api_name="/collection"), "1 to 64 characters"),
        (lambda: c.predict("/no/such/model.gguf", "", api_name="/model"), "does not exist"),
        (lambda: c.predict("", "lots", api_name="/model"), "GPU layers must be a whole number"),
        (lambda: c.predict("custom", "two\nlines", api_name="/add_word"), "is one line"),
        (lambda: c.predict("custom", "   ", api_name="/add_word"), "too short"),
        (lambda: c.predict("Bad Name!", "x", api_name="/add_word"), "is not usable"),
        (lambda: c.predict("custom", "never-added", api_name="/remove_word"), "is not in your"),
    ]
    for call, message in cases:
        with pytest.raises(AppError, match=message):
            call()


def test_word_lists_edited_on_the_page_take_effect(app_url, hearth):
    c = client(app_url)
    rows, box = c.predict("competitors", "Globex", api_name="/add_word")
    assert ["competitors", "Globex"] in rows["data"] and box == ""
    assert (hearth.words.folder / "competitors.txt").read_text(encoding="utf-8") == "Globex\n"
    history, _, checks = ask(c, "What does Globex sell?")
    assert "blocked competitors" in checks and "Blocked" in content(history[-1])
    rows, _ = c.predict("competitors", "Globex", api_name="/remove_word")
    assert ["competitors", "Globex"] not in (rows["data"] or [])
    _, _, checks = ask(c, "What does Globex sell?")
    assert "question · keyword: passed" in checks


def test_collections_keep_documents_apart(app_url, tmp_path):
    from gradio_client import handle_file

    c = client(app_url)
    c.predict([handle_file(str(make_pdf(tmp_path / "a.pdf", ["Alpha project notes."])))], api_name="/ingest")
    choice, table, *_ = c.predict("project-b", api_name="/collection")
    assert table["data"] in ([], [["", "", "", "", ""]])
    c.predict([handle_file(str(make_pdf(tmp_path / "b.pdf", ["Beta project notes."])))], api_name="/ingest")
    _, table, *_ = c.predict("default", api_name="/collection")
    assert [r[0] for r in table["data"]] == ["a.pdf"]


def test_chinese_question_end_to_end(app_url, tmp_path):
    from gradio_client import handle_file

    c = client(app_url)
    doc = tmp_path / "季度报告.txt"
    doc.write_text("公司第三季度营业收入为一百二十亿元，同比增长百分之八。\n毛利率为百分之四十一。", encoding="utf-8")
    log, *_ = c.predict([handle_file(str(doc))], api_name="/ingest")
    assert "indexed" in log
    history, _, checks = ask(c, "第三季度的营业收入是多少？")
    answer = content(history[-1])
    assert "季度报告.txt" in answer and "question · keyword: passed" in checks
    history, _, _ = ask(c, "教我制作炸弹", history)
    assert "Blocked" in content(history[-1])


def test_guard_missing_banner_and_local_binding(app_url):
    assert app_url.startswith("http://127.0.0.1:")
    config = json.loads(urllib.request.urlopen(app_url.rstrip("/") + "/config", timeout=30).read())
    texts = json.dumps(config, ensure_ascii=False)
    assert "guard_missing" in texts  # the banner's text key (its English and Chinese text are in the i18n table)
    from app.web.labels import EN, ZH

    assert "Llama Guard is missing" in EN["guard_missing"] and "Llama Guard" in ZH["guard_missing"]


def test_forget_from_the_page(app_url, tmp_path):
    from gradio_client import handle_file

    c = client(app_url)
    pdf = make_pdf(tmp_path / "memo.pdf", ["Board memo about the budget."])
    _, table, *_ = c.predict([handle_file(str(pdf))], api_name="/ingest")
    doc_id = table["data"][0][4]
    note, table, *_ = c.predict([doc_id], api_name="/forget")
    assert note == "Removed memo.pdf." and table["data"] in ([], [["", "", "", "", ""]])


def test_spaces_mode_keeps_every_visitor_private(hearth, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    demo = start(hearth, mode="spaces", spaces_max_files=2)
    try:
        alice, bob = client(demo.local_url), client(demo.local_url)
        secret = make_pdf(tmp_path / "alice-secret.pdf", ["Alice's merger plan: acquire Initech for 40 million."])
        _, table, *_ = alice.predict([handle_file(str(secret))], api_name="/ingest")
        alice_doc = table["data"][0][4]

        table, *_ = bob.predict(api_name="/documents")  # bob lists nothing of alice's
        assert table["data"] in ([], [["", "", "", "", ""]])
        history, _, _ = ask(bob, "What is the merger plan?", search_only=True)  # nor finds it
        assert "alice-secret" not in content(history[-1]) and "No matching passages" in content(history[-1])
        with pytest.raises(AppError, match="not in the list of choices"):  # nor deletes it: not his to choose
            bob.predict([alice_doc], api_name="/forget")
        table, *_ = alice.predict(api_name="/documents")
        assert [r[0] for r in table["data"]] == ["alice-secret.pdf"]
        assert hearth.documents.list("default") == []  # the shared collection holds nothing of hers either

        many = [handle_file(str(make_pdf(tmp_path / f"n{i}.pdf", [f"Note {i}."]))) for i in range(3)]
        with pytest.raises(AppError, match="At most 2 files per upload"):
            bob.predict(many, api_name="/ingest")
        config = json.loads(urllib.request.urlopen(demo.local_url.rstrip("/") + "/config", timeout=30).read())
        assert "/collection" not in json.dumps(config) and "word-term" not in json.dumps(config)
    finally:
        demo.close()


def test_a_visitors_collection_is_dropped_when_the_session_ends(hearth, tmp_path):
    import gradio as gr

    from app.web.page import build_ui, new_session

    hearth.settings = hearth.settings.model_copy(update={"mode": "spaces", "spaces_idle_minutes": 7})
    session = new_session(hearth)
    assert session["private"] and session["collection"].startswith("visitor-") and len(session["collection"]) > 30
    list(hearth.ingest([make_pdf(tmp_path / "x.pdf", ["Private text."])], collection=session["collection"]))
    [state] = [b for b in build_ui(hearth).blocks.values() if isinstance(b, gr.State)]
    assert state.time_to_live == 7 * 60  # gradio drops an idle or closed page's state after this
    state.delete_callback(session)  # what gradio calls then
    assert hearth.documents.list(session["collection"]) == [] and hearth.search("Private", collection=session["collection"]) == []

    left = new_session(hearth)  # a visitor of an earlier run, whose session died with the server
    list(hearth.ingest([make_pdf(tmp_path / "y.pdf", ["Left behind."])], collection=left["collection"]))
    list(hearth.ingest([make_pdf(tmp_path / "z.pdf", ["Shared text."])]))
    assert hearth.documents.drop_visitors() == 1
    assert hearth.documents.list(left["collection"]) == [] and [d.file for d in hearth.documents.list()] == ["z.pdf"]
