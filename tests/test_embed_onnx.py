"""The ONNX Runtime embedder: exported once from the installed MiniLM folder, cached, the same vectors as torch."""

import numpy as np
import pytest

from conftest import make_pdf

TEXTS = ["Apple's iPhone net sales in the third quarter.", "第三季度的收入增长了百分之八。", "ok", "risk factors " * 200]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory, minilm_path):
    """One export for the module: later embedders reuse it."""
    from rag.embed_onnx import OnnxEmbedder

    cache = tmp_path_factory.mktemp("onnx")
    OnnxEmbedder(minilm_path, cache_dir=cache, threads=2).load()
    return cache


def test_onnx_vectors_match_sentence_transformers(minilm_path, embedder, onnx_cache):
    from rag.embed_onnx import OnnxEmbedder

    onnx = OnnxEmbedder(minilm_path, cache_dir=onnx_cache, threads=2)
    vecs = np.array(onnx.embed(TEXTS))
    ref = np.array(embedder.embed(TEXTS))
    assert vecs.shape == ref.shape == (4, 384)
    assert (vecs * ref).sum(1).min() > 0.9999
    assert onnx.embed([]) == []


def test_the_cache_is_reused_and_rebuilt_when_missing_or_corrupt(minilm_path, onnx_cache, monkeypatch, tmp_path):
    import shutil

    from rag import embed_onnx

    cache = tmp_path / "onnx"
    shutil.copytree(onnx_cache, cache)
    [file] = cache.glob("*.onnx")
    assert file == embed_onnx.onnx_cache_file(minilm_path, cache)
    exports = []
    real_export = embed_onnx.export_onnx
    monkeypatch.setattr(embed_onnx, "export_onnx", lambda *a, **k: (exports.append(a), real_export(*a, **k)))

    embed_onnx.OnnxEmbedder(minilm_path, cache_dir=cache, threads=1).load()
    assert exports == []  # reused

    file.write_bytes(b"not an onnx model")  # e.g. a copy cut off
    e = embed_onnx.OnnxEmbedder(minilm_path, cache_dir=cache, threads=1)
    assert len(e.embed(["net sales"])[0]) == 384
    assert len(exports) == 1 and file.stat().st_size > 10**6

    file.unlink()
    embed_onnx.OnnxEmbedder(minilm_path, cache_dir=cache, threads=1).load()
    assert len(exports) == 2 and file.is_file()
    assert [p.name for p in cache.iterdir()] == [file.name]  # no temporary files left


def test_ingest_and_search_with_the_onnx_backend(tmp_path, onnx_cache):
    """Hearth built from settings with embedding_backend=onnx: a real PDF into real Chroma, found on its page."""
    import shutil

    from app.hearth import Hearth
    from app.settings import load_settings
    from rag.embed_onnx import OnnxEmbedder

    data = tmp_path / "data"
    shutil.copytree(onnx_cache, data / "models" / "onnx")  # the cache where Hearth keeps it: no export here
    h = Hearth(load_settings({"data_dir": str(data), "embedding_backend": "onnx"}))
    try:
        assert isinstance(h.embedder, OnnxEmbedder)
        pdf = make_pdf(tmp_path / "report.pdf", [
            "Cover page of the quarterly report. " * 30,
            "Risk factors: supply chain disruption and currency movements. " * 20,
            "iPhone net sales were 40,665 million dollars in the third quarter. " * 20,
        ])
        [r] = list(h.ingest([pdf]))
        assert r.status == "indexed", r.error
        hits = h.library().search("How much were iPhone net sales?", k=1, lexical=False)  # dense only: vectors at work
        assert hits and hits[0].page == 3
    finally:
        h.close()
