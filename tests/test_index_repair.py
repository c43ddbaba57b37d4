"""The catalog, the vector index and the BM25 rows agree on every document, and `hearth doctor --index` repairs
what a crash or a disk error left behind; killed ingests at random moments leave no half-indexed document."""

import json

import pytest

from conftest import make_pdf, run_cli


def facts(i: int) -> list[str]:
    return [f"Branch {i} opened in city {i} with {i * 10 + 5} desks. " * 8, f"Branch {i} revenue note. " * 20]


def test_a_healthy_index_agrees_and_a_damaged_one_is_repaired(hearth, tmp_path):
    pdfs = [make_pdf(tmp_path / f"b{i}.pdf", facts(i)) for i in range(3)]
    results = list(hearth.ingest(pdfs))
    library = hearth.documents.library()
    assert library.verify() == []
    ids = {r.file.rsplit("/", 1)[-1]: r.doc_id for r in results}

    # A disk error: some of b0's vectors are gone. A stray: vectors and BM25 rows of no document.
    store = library.store
    store._col.delete(ids=[f"{ids['b0.pdf']}:0"])
    store._col.add(ids=["ffff0000ffff0000:0"], embeddings=[[0.1] * 384], documents=["stray"],
                   metadatas=[{"doc_id": "ffff0000ffff0000", "file": "gone.pdf", "page": 1}])
    with library.catalog.transaction():
        library.catalog.lexical("default").add("eeee0000eeee0000", [("eeee0000eeee0000:0", "stray words")])

    problems = library.verify()
    assert any(p.startswith("b0.pdf") and "removed (add the file again)" in p for p in problems)
    assert any("ffff0000ffff0000" in p for p in problems) and any("eeee0000eeee0000" in p for p in problems)
    assert len(problems) == 3 and library.verify() == []  # repaired: a second check finds nothing
    assert sorted(d.file for d in library.documents()) == ["b1.pdf", "b2.pdf"]
    assert all(h.file != "b0.pdf" for h in library.search("Branch 0 desks", k=5))
    assert [r.status for r in hearth.ingest([pdfs[0]])] == ["indexed"]  # and it can be added again
    assert library.verify() == []


def test_doctor_index_reports_repairs_and_refuses_while_hearth_runs(tmp_path):
    from filelock import FileLock

    data = tmp_path / "data"
    env = {"HEARTH_DATA_DIR": str(data)}
    assert run_cli("ingest", str(make_pdf(tmp_path / "a.pdf", facts(1))), env=env).returncode == 0
    r = run_cli("doctor", "--index", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["index"] == {"default": {"documents": 1, "problems": []}}
    assert "index 'default': 1 documents, all agree" in run_cli("doctor", "--index", env=env).stdout

    with FileLock(str(data / "hearth.lock")):  # as a running page holds it
        r = run_cli("doctor", "--index", env=env)
    assert r.returncode == 1 and "a Hearth is running on" in r.stderr and "Traceback" not in r.stderr


def test_random_kills_leave_no_half_indexed_document():
    from benchmarks.bench_crash import trial

    r = trial(kills=3, seed=11)
    assert r["not_whole"] == 0 and r["final_not_whole"] == 0
    assert r["final_docs"] == r["files"]


def test_an_index_opened_while_another_process_ingests_leaves_its_document_alone(tmp_path):
    """`hearth search` (or a second page) opening the index mid-ingest must not 'repair' away the other
    process's pending document; once that process is dead, its leftover is removed on the next open."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    from app.hearth import Hearth
    from app.settings import load_settings

    data = tmp_path / "data"
    pdf = make_pdf(tmp_path / "big.pdf", [f"Page {p}. " + "Quarterly revenue grew in every region. " * 60
                                          for p in range(1, 13)])
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from app.hearth import Hearth
        from app.settings import load_settings
        h = Hearth(load_settings({{"data_dir": {str(data)!r}}}, environ={{}}))
        def stall(file, done, total):
            print("PENDING", flush=True)
            time.sleep(120)
        list(h.ingest([{str(pdf)!r}], progress=stall))
        """)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert child.stdout.readline().strip() == "PENDING"
        r = run_cli("search", "revenue", env={"HEARTH_DATA_DIR": str(data)})
        assert r.returncode == 0, r.stderr
        hearth = Hearth(load_settings({"data_dir": data}, environ={}))
        library = hearth.documents.library()
        assert library.repaired == []
        assert [d.file for d in library.catalog.documents("default", status="pending")] == ["big.pdf"]
        hearth.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    hearth = Hearth(load_settings({"data_dir": data}, environ={}))
    library = hearth.documents.library()
    assert len(library.repaired) == 1 and library.catalog.documents("default", status="pending") == []
    problems = library.verify()  # it names what the opening removed, then all agrees
    assert len(problems) == 1 and "interrupted" in problems[0] and library.verify() == []
    hearth.close()
