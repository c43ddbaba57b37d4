"""The load check, CI-sized (benchmarks/bench_load.py runs it at 8 x 200 and soaks it for 30 minutes): 8 API
clients on their own keys, two page users (gradio_client) and a page ingest at once, against a real Hearth on
127.0.0.1. No error but the deliberate 429s, every key billed exactly its own tokens, no answer mixed up."""

from benchmarks.bench_load import Mix, start
from conftest import make_pdf


def test_mixed_load_keeps_every_promise(tmp_path):
    docs = [make_pdf(tmp_path / f"note-{i}.pdf", [f"Note {i}: the lighthouse keeper's cat is named Biscuit {i}."])
            for i in range(2)]
    hearth, demo, url = start(tmp_path / "data")
    try:
        mix = Mix(hearth, url, docs=docs)
        out = mix.run_round(requests=3, page_turns=2, ingest=True, limited=True)
    finally:
        demo.close()
        hearth.close()
    assert out.problems == [], "\n".join(out.problems)
    assert out.api_ok == 8 * 3 and out.page_turns == 2 * 2 and out.deliberate_429 == 10
    assert len(mix.billed) == 8 and all(v > 0 for v in mix.billed.values())
