"""A document holding HTML, script, javascript: links and Markdown image beacons is shown as text on the page:
nothing in it runs or fetches anything (headless Chromium, with a local server counting what would call out)."""

import http.server
import threading
import time

from test_browser import browser, drop_and_ask, lang, page_url  # noqa: F401 (fixtures)


class Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        Beacon.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def hostile_text(url: str) -> str:
    return (f"Orbit quarterly beacon memo: revenue was 12 million. <script>fetch('{url}/script')</script> "
            f"<img src=\"{url}/img\" onerror=\"fetch('{url}/onerror')\"> ![chart]({url}/markdown-image) "
            f"[open the report](javascript:fetch('{url}/js-link')) <iframe src=\"{url}/iframe\"></iframe> "
            f"<a href=\"{url}/link\">a link</a>")


def test_hostile_document_text_is_shown_as_text_and_calls_nothing(browser, page_url, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    Beacon.hits = []
    try:
        doc = tmp_path / "memo.txt"
        doc.write_text(hostile_text(url), encoding="utf-8")
        wait = drop_and_ask(browser, page_url, doc, "Orbit quarterly beacon memo revenue", search_only=True)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#chat details summary")))
        chat = browser.find_element(By.ID, "chat")
        for summary in chat.find_elements(By.CSS_SELECTOR, "details summary"):
            summary.click()  # every passage, opened
        wait.until(lambda d: "revenue was 12 million" in d.find_element(By.ID, "chat").text)
        time.sleep(2)  # time for anything that would call out to do so

        text = chat.text
        assert "<script>" in text and "[image: chart]" in text  # shown as text
        assert "javascript:" in text and "(javascript:" in text  # the link is text, not a link
        for selector in ("script", "iframe", f"img[src^='{url}']", "a[href^='javascript']", f"a[href^='{url}']"):
            assert not chat.find_elements(By.CSS_SELECTOR, selector), selector
        assert Beacon.hits == []  # nothing fetched the beacon
    finally:
        server.shutdown()


def test_safe_markdown_leaves_nothing_live():
    from app.web.present import safe_markdown

    out = safe_markdown("see http://x.com/a, www.b.org, [t](javascript:alert(1)), <b>x</b>, ![i](http://e/p.png)")
    assert out == ("see http&#58;//x.com/a, www&#46;b.org, t (javascript&#58;alert(1)), &lt;b&gt;x&lt;/b&gt;, "
                   "[image: i]")
