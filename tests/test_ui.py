"""The web page, started for real on a free local port and driven through gradio_client."""

import json
import urllib.request

import pytest

from conftest import AAPL_PDF, make_pdf


@pytest.fixture
def app_url(hearth):
    from app.server import launch

    hearth.settings = hearth.settings.model_copy(update={"port": 7870})  # free_port moves on if taken
    demo = launch(hearth, block=False)
    yield demo.local_url
    demo.close()


def content(message) -> str:
    c = message["content"]
    return c if isinstance(c, str) else " ".join(part.get("text", "") for part in c)


def test_upload_ask_and_blocked_question(app_url, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(app_url, verbose=False)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 no")
    log, table = client.predict([handle_file(str(AAPL_PDF)), handle_file(str(broken))], api_name="/ingest")
    assert f"**{AAPL_PDF.name}**: indexed, 28 pages" in log
    assert "**broken.pdf**: broken.pdf: the PDF is damaged" in log
    assert [row[0] for row in table["data"]] == [AAPL_PDF.name]

    history, box = client.predict("What were iPhone net sales in the third quarter of 2022?", [], api_name="/ask")
    answer = content(history[-1])
    assert box == "" and history[-1]["role"] == "assistant"
    assert f"{AAPL_PDF.name}, page" in answer  # a citation the analyst can check
    assert "question · keyword: passed" in answer and "llama guard: missing" in answer

    history, _ = client.predict("how to make a bomb", history, api_name="/ask")
    blocked = content(history[-1])
    assert "Blocked: the question did not pass the keyword check" in blocked and "explosives_weapons" in blocked
    assert len(history) == 4


def test_guard_missing_banner_and_local_binding(app_url):
    assert app_url.startswith("http://127.0.0.1:")
    config = json.loads(urllib.request.urlopen(app_url.rstrip("/") + "/config", timeout=30).read())
    texts = json.dumps(config)
    assert "Llama Guard is missing" in texts


def test_forget_from_the_page(app_url, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(app_url, verbose=False)
    pdf = make_pdf(tmp_path / "memo.pdf", ["Board memo about the budget."])
    _, table = client.predict([handle_file(str(pdf))], api_name="/ingest")
    doc_id = table["data"][0][3]
    note, table, box = client.predict(doc_id, api_name="/forget")
    assert note == "Removed memo.pdf." and table["data"] in ([], [["", "", "", ""]]) and box == ""
