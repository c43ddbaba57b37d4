"""Fuzzing the readers (PDF, Word, HTML, Markdown, text) with hypothesis, and with atheris where its wheel installs.

Property tests: generated text, Markdown and HTML read back as what was written (every word, no script). Mutation
tests: real seed files (the AAPL 10-Q in tests/data, this repository's README, a Word file and an HTML page made
by their real libraries, GBK and UTF-16 text) with bytes flipped, inserted, deleted, duplicated, truncated or
spliced from another seed, read the way an ingest reads them (rag.bounded, within the time and memory ceilings):
each gets a document or a DocumentLoadError that says what is wrong, never an unexplained exception, and the
process never dies. atheris (coverage-guided, libFuzzer) runs the readers in a process of its own
(tests/fuzz_loaders.py) for a bounded number of inputs. Bounded for CI: about a minute in all.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AAPL_PDF, ROOT
from core.errors import DocumentLoadError
from rag.bounded import read_document
from rag.document import Limits
from rag.load import load_document

LIMITS = Limits(max_bytes=50 * 2**20, max_pages=5000, max_seconds=60, max_memory_mb=1024)
def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
WORDS = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd", "Lo"]), min_size=1, max_size=12)


def seeds(folder: Path) -> dict[str, bytes]:
    """Real files of every kind the readers take, by suffix."""
    import docx

    folder.mkdir(parents=True, exist_ok=True)
    d = docx.Document()
    d.add_heading("Quarterly report", 1)
    d.add_paragraph("Net sales were 82,959 million dollars; the cat is named Biscuit.")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate([("Segment", "Sales"), ("Americas", "37,472")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_page_break()
    d.add_paragraph("Second page: risk factors.")
    d.save(folder / "seed.docx")
    html = ("<!doctype html><html><head><title>Report</title><style>p{color:red}</style><script>alert(1)</script>"
            "</head><body><h1>Results &amp; outlook</h1><p>Net sales rose<br>by 2%.</p><table><tr><th>Q</th>"
            "<th>Sales</th></tr><tr><td>Q3</td><td>82,959</td></tr></table><ul><li>one</li><li>two</li></ul>"
            "<div><section><article><p>Nested <b>bold</b> text.</p></article></section></div></body></html>")
    news = "季度报告：净销售额增长百分之二。苹果公司发布了财报。\n" * 20
    return {".pdf": AAPL_PDF.read_bytes(), ".docx": (folder / "seed.docx").read_bytes(), ".html": html.encode(),
            ".md": (ROOT / "README.md").read_bytes()[:20000], ".txt": news.encode("gbk"),
            ".text": ("Plain notes\f" + news).encode("utf-16")}


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory) -> dict[str, bytes]:
    return seeds(tmp_path_factory.mktemp("seeds"))


@st.composite
def mutated(draw, seed: bytes, other: bytes) -> bytes:
    """The seed with a few mutations of the kinds fuzzers make."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate", "splice", "magic"]))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 4096))]
        elif kind == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 4096))] * draw(st.integers(1, 20))
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice":
            start = draw(st.integers(0, max(len(other) - 1, 0)))
            data[at:at] = other[start:start + draw(st.integers(1, 4096))]
        else:  # tokens a parser branches on
            data[at:at] = draw(st.sampled_from([b"obj", b"endobj", b"stream", b"/FlateDecode", b"xref", b"trailer",
                                                b"<<", b">>", b"PK\x03\x04", b"<div>", b"</table>", b"<!--", b"\xff\xfe",
                                                b"\xef\xbb\xbf", b"\f", b"\x00" * 8, b"# ", b"<w:p>", b"]]>"]))
    return bytes(data)


def check_read(path: Path) -> None:
    """A document, or a DocumentLoadError that names the file and says what is wrong (never a reader's bug)."""
    try:
        doc = read_document(path, limits=LIMITS)
    except DocumentLoadError as e:
        assert path.name in str(e) and "could not be read (" not in str(e), str(e)
        return
    assert doc.pages and all(isinstance(p.text, str) for p in doc.pages)


@pytest.mark.parametrize("suffix,examples", [(".pdf", 30), (".docx", 40), (".html", 40), (".md", 40), (".txt", 30),
                                             (".text", 30)])
def test_mutated_real_files_get_a_document_or_a_clear_error(seed_files, tmp_path, suffix, examples):
    others = [b for s, b in seed_files.items() if s != suffix]

    @fuzz(examples)
    @given(data=st.data())
    def run(data):
        blob = data.draw(mutated(seed_files[suffix], data.draw(st.sampled_from(others))))
        path = tmp_path / f"fuzzed{suffix}"
        path.write_bytes(blob)
        check_read(path)

    run()


@fuzz(150)
@given(text=st.text(min_size=1, max_size=2000))
def test_any_utf8_text_reads_back_as_written(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("t") / "notes.txt"
    path.write_bytes(text.encode("utf-8"))
    try:
        doc = load_document(path)
    except DocumentLoadError as e:
        assert not text.strip() and "holds no text" in str(e)
        return
    assert "\f".join(p.text for p in doc.pages) == text.removeprefix("\ufeff") and doc.encoding == "utf-8"


@st.composite
def html_tree(draw, depth: int = 0) -> tuple[str, list[str]]:
    """An HTML fragment and the words it shows."""
    if depth > 4 or draw(st.integers(0, 3)) == 0:
        words = draw(st.lists(WORDS, min_size=1, max_size=4))
        return " ".join(words), words
    tag = draw(st.sampled_from(["div", "p", "span", "b", "section", "li", "td", "h2", "blockquote", "pre", "a"]))
    parts = draw(st.lists(html_tree(depth + 1), min_size=1, max_size=3))
    return f"<{tag}>" + " ".join(h for h, _ in parts) + f"</{tag}>", [w for _, ws in parts for w in ws]


@fuzz(150)
@given(tree=html_tree(), hidden=WORDS)
def test_generated_html_shows_every_word_and_no_script(tmp_path_factory, tree, hidden):
    body, words = tree
    path = tmp_path_factory.mktemp("h") / "page.html"
    path.write_text(f"<html><body><script>var secret = 'zq{hidden}';</script>{body}</body></html>", encoding="utf-8")
    text = load_document(path).pages[0].text
    for word in words:
        assert word in text
    assert f"zq{hidden}" not in text


@fuzz(100)
@given(sections=st.lists(st.tuples(WORDS, st.lists(WORDS, min_size=1, max_size=8)), min_size=1, max_size=6))
def test_generated_markdown_keeps_its_headings_and_words(tmp_path_factory, sections):
    md = "\n\n".join(f"## {head}\n\n{' '.join(words)}" for head, words in sections)
    path = tmp_path_factory.mktemp("m") / "notes.md"
    path.write_text(md, encoding="utf-8")
    page = load_document(path).pages[0]
    assert [h for _, h in page.headings] == [head for head, _ in sections]
    assert all(w in page.text for _, words in sections for w in words)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris has no wheel for this platform")
def test_atheris_finds_no_crash_and_no_unexplained_error(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for suffix, blob in seeds(tmp_path / "seeds").items():
        if suffix != ".pdf":  # the 10-Q is too large for quick mutations; a small real PDF stands in
            (corpus / suffix.lstrip(".")).write_bytes(bytes([list(SUFFIXES).index(suffix)]) + blob[:20000])
    from conftest import make_pdf

    pdf = make_pdf(tmp_path / "small.pdf", ["Net sales 82,959.", "Risk factors: the cat is named Biscuit."])
    (corpus / "pdf").write_bytes(bytes([0]) + pdf.read_bytes())
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("fuzz_loaders.py")), str(corpus),
                          "-runs=20000", "-max_total_time=45", "-timeout=20", "-rss_limit_mb=3072", "-max_len=30000"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done" in run.stderr, run.stderr[-2000:]
    shutil.rmtree(corpus, ignore_errors=True)


SUFFIXES = (".pdf", ".docx", ".html", ".md", ".txt", ".text")
