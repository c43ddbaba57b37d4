"""The ONNX Runtime embedder: the installed MiniLM written as an ONNX graph without torch, cached, the same
vectors as sentence-transformers; Hearth's default backend."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, make_pdf

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


def test_the_graph_is_valid_onnx_and_written_without_torch(minilm_path, embedder, tmp_path):
    """A fresh process writes the graph and embeds with it; torch and transformers are never imported there."""
    import onnx

    code = f"""
import json, sys
from pathlib import Path
from rag.embed_onnx import OnnxEmbedder
e = OnnxEmbedder(Path({str(minilm_path)!r}), cache_dir=Path({str(tmp_path)!r}), threads=2)
print(json.dumps({{"vectors": e.embed({TEXTS!r}), "file": str(e.cache_file),
                   "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["torch"] is False and got["transformers"] is False
    onnx.checker.check_model(got["file"])
    vecs, ref = np.array(got["vectors"]), np.array(embedder.embed(TEXTS))
    assert vecs.shape == ref.shape == (4, 384) and (vecs * ref).sum(1).min() > 0.9999


def test_which_folders_it_reads(minilm_path, tmp_path):
    """BERT with mean pooling, as sentence-transformers configures it; anything else is left to torch."""
    from rag.embed_onnx import reads

    assert reads(minilm_path)
    for name, edit in (("roberta", lambda d: _edit_json(d / "config.json", model_type="roberta")),
                       ("cls", lambda d: _edit_json(d / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False,
                                                    pooling_mode_cls_token=True)),
                       ("no-weights", lambda d: (d / "model.safetensors").unlink())):
        folder = tmp_path / name
        shutil.copytree(minilm_path, folder)
        edit(folder)
        assert not reads(folder), name
    assert not reads(tmp_path / "missing")


def _edit_json(path, **changes):
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_hearth_embeds_through_onnx_by_default_and_falls_back_to_torch(tmp_path, minilm_path):
    """Default settings: ONNX Runtime, a real PDF into real Chroma, found on its page; a model folder that ONNX
    Runtime cannot read is embedded by sentence-transformers instead."""
    from app.hearth import Hearth
    from app.settings import load_settings
    from rag.embed import Embedder
    from rag.embed_onnx import OnnxEmbedder

    h = Hearth(load_settings({"data_dir": str(tmp_path / "data")}))
    try:
        assert h.embedding_backend == "onnx" and isinstance(h.embedder, OnnxEmbedder)
        pdf = make_pdf(tmp_path / "report.pdf", [
            "Cover page of the quarterly report. " * 30,
            "Risk factors: supply chain disruption and currency movements. " * 20,
            "iPhone net sales were 40,665 million dollars in the third quarter. " * 20,
        ])
        [r] = list(h.ingest([pdf]))
        assert r.status == "indexed", r.error
        hits = h.documents.library().search("How much were iPhone net sales?", k=1, lexical=False)  # dense only: vectors at work
        assert hits and hits[0].page == 3
        assert h.embedder.precision == "int8"  # the default (settings.embedding_precision), quantised from fp32
        assert sorted(f.name for f in (tmp_path / "data" / "models" / "onnx").iterdir()) == \
            sorted([h.embedder.cache_file.name, h.embedder.graph_file.name])
    finally:
        h.close()
    cls = tmp_path / "cls-model"
    shutil.copytree(minilm_path, cls)
    _edit_json(cls / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    h = Hearth(load_settings({"data_dir": str(tmp_path / "data2"), "embedding_model": str(cls)}))
    try:
        assert h.embedding_backend == "torch" and isinstance(h.embedder, Embedder)
    finally:
        h.close()


def test_int8_vectors_are_close_to_fp32_and_a_failed_quantisation_falls_back_to_fp32(tmp_path, minilm_path,
                                                                                    monkeypatch, caplog):
    import numpy as np

    from rag import embed_onnx
    from rag.embed_onnx import OnnxEmbedder

    texts = ["Total net sales were 81,797 million dollars.", "Risk factors include currency movements.", "你好"]
    fp32 = np.array(OnnxEmbedder(minilm_path, cache_dir=tmp_path / "a", threads=1).embed(texts))
    int8 = OnnxEmbedder(minilm_path, cache_dir=tmp_path / "a", threads=1, precision="int8")
    vectors = np.array(int8.embed(texts))
    assert int8.graph_file.name.endswith("-int8.onnx") and int8.graph_file.is_file()
    cosines = (fp32 * vectors).sum(axis=1)
    assert (cosines > 0.97).all() and (cosines < 0.99999).all()  # close, and really quantised
    assert "pre-processing" not in caplog.text  # the quantiser's advice to its developers is not the user's

    def broken(fp32_file, out):
        raise ImportError("no onnxruntime.quantization in this bundle")

    monkeypatch.setattr(embed_onnx, "quantize_int8", broken)
    fallback = OnnxEmbedder(minilm_path, cache_dir=tmp_path / "b", threads=1, precision="int8")
    assert np.allclose(np.array(fallback.embed(texts)), fp32, atol=1e-5)
    assert "using fp32" in caplog.text
    with pytest.raises(ValueError, match="fp32 or int8"):
        OnnxEmbedder(minilm_path, cache_dir=tmp_path / "c", threads=1, precision="int4")
