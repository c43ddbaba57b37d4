"""The page in a real browser: headless Chromium drops a PDF on the upload zone, asks, and sees a cited answer.

Needs Debian's Chromium and its driver (`apt-get install -y chromium chromium-driver`; .ci/run installs
them); the test installs nothing itself and fails with that instruction when they are missing.
"""

import base64
import re
import shutil
from pathlib import Path

import pytest

from conftest import make_pdf

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = int(__import__("os").environ.get("HEARTH_TEST_WAIT_S", 600))  # a loaded CI machine; the test waits for events, it does not time them

# Drop the file on the zone as a user's drag and drop does: dragenter, dragover, drop, with the file in
# the event's DataTransfer (no file dialog, no direct use of the hidden <input type=file>).
DROP_JS = """
const [b64, name, target] = arguments;
const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
const data = new DataTransfer();
data.items.add(new File([bytes], name, {type: "application/pdf"}));
for (const type of ["dragenter", "dragover", "drop"]) {
  target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
}
"""


@pytest.fixture
def lang():
    """The browser's language (a test may override this fixture's value with pytest.mark.parametrize)."""
    return "en-US"


@pytest.fixture
def browser(lang):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.fail(f"headless Chromium is missing ({', '.join(missing)}): install it with "
                    "`apt-get install -y chromium chromium-driver` (Debian), as .ci/run does.")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", f"--lang={lang}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))  # the system driver: no download
    yield driver
    driver.quit()


@pytest.fixture
def page_url(hearth):
    from app.web.server import launch

    hearth.settings = hearth.settings.model_copy(update={"port": 7890, "max_tokens": 64})  # free_port moves on if taken
    demo = launch(hearth, block=False)
    yield demo.local_url
    demo.close()


def drop_and_ask(browser, page_url, path, question, *, search_only=False, wait_s=WAIT_S):
    """Open the page, drop a file on the upload zone as a user does, wait until it is indexed, and ask (in
    search-only mode when asked to); returns the WebDriverWait, for what the caller waits for next."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, wait_s)
    browser.get(page_url)
    zone = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#upload input[type=file]")))
    browser.execute_script(DROP_JS, base64.b64encode(path.read_bytes()).decode(), path.name, zone)
    wait.until(ec.text_to_be_present_in_element((By.ID, "ingest-log"), path.name))
    if search_only:
        browser.find_element(By.CSS_SELECTOR, "#search-only input[type=checkbox]").click()
    browser.find_element(By.CSS_SELECTOR, "#question textarea").send_keys(question)
    browser.find_element(By.ID, "ask").click()
    return wait


def test_drop_a_pdf_ask_and_see_a_cited_answer(browser, page_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    pdf = make_pdf(tmp_path / "orbit-report.pdf", ["Orbit Corp revenue in 2023 was 512 million dollars, "
                                                    "up 9 percent on the year before."])
    wait = drop_and_ask(browser, page_url, pdf, "What was Orbit Corp revenue in 2023?")
    assert "indexed, 1 pages" in browser.find_element(By.ID, "ingest-log").text
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#chat details summary")))
    wait.until(lambda d: "writing…" not in d.find_element(By.ID, "chat").text)
    chat = browser.find_element(By.ID, "chat")
    summaries = [s.text for s in chat.find_elements(By.CSS_SELECTOR, "details summary")]
    assert summaries and summaries[0].startswith("[1] orbit-report.pdf, page 1"), summaries
    assert "question · keyword: passed" in browser.find_element(By.ID, "checks").text
    details = chat.find_element(By.CSS_SELECTOR, "details")
    assert "512 million dollars" not in details.text
    details.find_element(By.CSS_SELECTOR, "summary").click()  # a citation opens its passage
    assert "512 million dollars" in details.text


def test_a_question_the_documents_do_not_answer_says_so_and_shows_the_closest_passage(browser, page_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    pdf = make_pdf(tmp_path / "orbit-memo.pdf", ["Orbit Corp revenue in 2023 was 512 million dollars."])
    wait = drop_and_ask(browser, page_url, pdf, "What was Tesla's revenue in 2023?")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#chat details summary")))
    chat = browser.find_element(By.ID, "chat")
    wait.until(lambda d: "Not in the documents" in d.find_element(By.ID, "chat").text)
    assert "Not in the documents: your documents never mention Tesla." in chat.text
    assert "The closest passages (none of them answers the question)" in chat.text
    assert chat.find_element(By.CSS_SELECTOR, "details summary").text.startswith("[1] orbit-memo.pdf, page 1")
    assert "question · support: refused" in browser.find_element(By.ID, "checks").text


def test_a_source_opens_its_page_with_the_passage_highlighted(browser, page_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    pdf = make_pdf(tmp_path / "falcon-memo.pdf", ["Project Falcon launches on 12 March 2031 from the north pad."])
    wait = drop_and_ask(browser, page_url, pdf, "When does Project Falcon launch?", search_only=True,
                        wait_s=300)  # search only: no model runs, so a shorter bound than WAIT_S
    wait.until(ec.text_to_be_present_in_element((By.ID, "source-pick"), "falcon-memo.pdf, p. 1"))
    browser.find_element(By.XPATH, "//*[@id='source-pick']//label[contains(., 'falcon-memo.pdf, p. 1')]").click()
    image = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#preview-image img")))
    wait.until(lambda d: image.get_attribute("naturalWidth") not in (None, "0"))
    src = image.get_attribute("src")
    assert src.startswith("data:image/png") or src.split("?")[0].endswith(".png"), src
    assert "falcon-memo.pdf" in browser.find_element(By.ID, "preview-note").text


@pytest.fixture
def guard_hub(tmp_path, monkeypatch):
    """The hub, served locally, with a tiny GGUF that loads and verifies as Llama Guard 3 (tests/model_files.py);
    it holds the download at 4 MiB until the test has seen the page show it under way."""
    from app.services.models import REGISTRY
    from tests.model_files import Hub, tiny_llama_guard

    spec = REGISTRY["llama-guard-3-1b"]
    server = Hub({f"{spec.repo}/resolve/main/{spec.filename}": tiny_llama_guard(tmp_path / spec.filename).read_bytes()})
    server.hold_at = 4 * 2**20
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.close()


def test_first_run_install_the_guard_from_the_warning_then_a_checked_turn(browser, guard_hub, page_url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(element_id):
        return any(e.is_displayed() for e in browser.find_elements(By.ID, element_id))

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(page_url)
    button = wait.until(ec.element_to_be_clickable((By.ID, "install-guard")))
    assert "Llama Guard is missing" in browser.find_element(By.ID, "guard-warning").text
    assert "Install Llama Guard 3 1B" in button.text and not shown("install-chat")  # 2 cores: SmolLM2 fits best
    button.click()
    # held at 4 MiB by the hub: bytes done of the total, speed and time left, as the download reported them last
    under_way = re.compile(r"llama-guard-3-1b: [1-4] of 14 MiB \(\d+%\), [\d.]+ MiB/s, about \d+ s left")
    wait.until(lambda d: under_way.search(d.find_element(By.ID, "install-guard-progress").text))
    browser.save_screenshot(str(tmp_path / "first-run.png"))
    guard_hub.release.set()
    wait.until(ec.text_to_be_present_in_element((By.ID, "install-guard-progress"), "checks every turn from now on"))
    wait.until(lambda d: not shown("guard-warning") and not shown("install-guard"))  # the warning is gone

    pdf = make_pdf(tmp_path / "orbit-report.pdf", ["Orbit Corp revenue in 2023 was 512 million dollars."])
    wait = drop_and_ask(browser, page_url, pdf, "What was Orbit Corp revenue in 2023?")  # a fresh page load
    assert not shown("guard-warning")
    wait.until(ec.text_to_be_present_in_element((By.ID, "checks"), "answer · llama guard"))
    checks = browser.find_element(By.ID, "checks").text
    assert "question · llama guard: passed p=0.00" in checks and "answer · llama guard: passed" in checks, checks


@pytest.mark.parametrize("lang", ["zh-CN"])
def test_the_first_run_banner_and_the_models_tab_in_chinese(browser, page_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from app.web.labels import ZH

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(page_url)
    wait.until(ec.text_to_be_present_in_element((By.ID, "install-guard"), ZH["install_guard"]))
    assert "缺少 Llama Guard" in browser.find_element(By.ID, "guard-warning").text
    browser.find_element(By.XPATH, f"//button[@role='tab' and contains(., '{ZH['tab_models']}')]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "models-machine"), "个 CPU 核心"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "models-table"), ZH["h_fits"]))
    table = browser.find_element(By.ID, "models-table").text
    assert "llama-guard-3-1b" in table and ZH["kind_guard"] in table
    assert ZH["install"] in browser.find_element(By.ID, "models-install").text
