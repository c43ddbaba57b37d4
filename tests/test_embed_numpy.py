"""The torch-free embedder: the same vectors as sentence-transformers, and no torch in the process."""

import json
import subprocess
import sys

import numpy as np

from conftest import ROOT


def test_numpy_vectors_match_sentence_transformers(minilm_path, embedder):
    from rag.embed_numpy import NumpyEmbedder

    texts = ["Apple's iPhone net sales in the third quarter.", "第三季度的收入增长了百分之八。", "ok",
             "risk factors " * 200]
    numpy_vecs = np.array(NumpyEmbedder(minilm_path, threads=2).embed(texts))
    torch_vecs = np.array(embedder.embed(texts))
    assert numpy_vecs.shape == torch_vecs.shape == (4, 384)
    assert (numpy_vecs * torch_vecs).sum(1).min() > 0.9999


def test_a_numpy_backend_turn_never_imports_torch(tmp_path):
    """Ingest, search and a guarded answer in a fresh process with HEARTH_EMBEDDING_BACKEND=numpy."""
    doc = tmp_path / "report.txt"
    # Each page is longer than one chunk (chunks may span pages), so a hit names one page.
    doc.write_text("\f".join(text * 12 for text in [
        "Cover page of the quarterly report. ",
        "Risk factors: supply chain disruption and currency movements. ",
        "iPhone net sales were 40,665 million dollars in the third quarter. ",
        "Services revenue reached a record. "]), encoding="utf-8")
    code = f"""
import json, sys
from app.hearth import Hearth
from app.settings import load_settings
h = Hearth(load_settings({{"data_dir": {str(tmp_path)!r}, "embedding_backend": "numpy", "max_tokens": 24}}))
[r] = list(h.ingest([{str(doc)!r}]))
hits = h.search("iPhone net sales", k=1)
turn = h.ask("What were iPhone net sales?")
print(json.dumps({{"status": r.status, "pages": {{x.page for x in hits}} and sorted({{x.page for x in hits}}),
                  "blocked": turn.blocked, "answer": bool(turn.answer), "backend": h.embedding_backend,
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}}))
h.close()
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "indexed" and out["backend"] == "numpy" and not out["blocked"] and out["answer"]
    assert out["torch"] is False and out["transformers"] is False
    assert out["pages"] == [3]  # the page about iPhone sales
