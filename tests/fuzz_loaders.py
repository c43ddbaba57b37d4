"""atheris (libFuzzer) over Hearth's readers, run by tests/test_loader_fuzz.py in a process of its own:

    python tests/fuzz_loaders.py CORPUS_DIR -runs=3000 -max_total_time=60

The first byte of an input picks the reader (PDF, Word, HTML, Markdown, text, UTF-16 text), the rest is the file.
Hearth's own reading code is instrumented for coverage. A DocumentLoadError is the expected refusal; any other
exception is a finding (libFuzzer stops and saves the input), as is a crash, a hang past -timeout or memory past
-rss_limit_mb.
"""

import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["rag", "core"]):
    from core.errors import DocumentLoadError
    from rag.load import load_document

SUFFIXES = (".pdf", ".docx", ".html", ".md", ".txt", ".text")
FOLDER = Path(tempfile.mkdtemp(prefix="hearth-atheris-"))


def test_one_input(data: bytes) -> None:
    if not data:
        return
    path = FOLDER / f"input{SUFFIXES[data[0] % len(SUFFIXES)]}"
    path.write_bytes(data[1:])
    try:
        load_document(path, max_bytes=2**20)
    except DocumentLoadError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
