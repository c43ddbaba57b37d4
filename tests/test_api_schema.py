"""schemathesis over every /v1 operation of the schema Hearth serves (GET /v1/openapi.json), against a real Hearth
on 127.0.0.1 (SmolLM2, MiniLM, Chroma on disk), once without keys (loopback) and once with keys required: no 5xx,
every status and body as the schema says, schema-invalid requests refused with a 4xx, and no key (nor a caller
without one) ever sees what another key put in its collections.

Bounded for CI: a few dozen generated requests per operation (chat completions fewer: each one generates, at most
16 tokens); three in four generated requests name a real model, collection or document, so that they get past the
first 404 (what schemathesis' stateful links would do, without their cost)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

SECRET = "ZANZIBAR-4471"  # only key A's document holds it
LEAKS: list[str] = []
EXAMPLES = {"POST /v1/chat/completions": 10}  # each one generates with SmolLM2; every other operation: DEFAULT
DEFAULT = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _key_a_document(hearth, url: str, tmp_path) -> str:
    """Key A's private collection 'notes', holding the one document with SECRET; its doc id."""
    key, a = hearth.api_keys.create("key-a", rpm=0, tpm=0)
    LEAKS[:] = [SECRET, key.collection("")]  # its text, and the name its collections have inside Hearth
    note = tmp_path / "vault.txt"
    note.write_text(f"The vault code of the lighthouse is {SECRET}. Nobody else may read it.\n", encoding="utf-8")
    r = httpx.post(f"{url}/v1/collections/notes/documents", headers={"Authorization": f"Bearer {a}"},
                   files=[("file", (note.name, note.read_bytes(), "text/plain"))], timeout=300)
    assert r.status_code == 200, r.text
    return r.json()["documents"][0]["doc_id"]


def _no_leak(ctx, response, case):
    """Nothing of key A's collection reaches anyone else."""
    if any(leak in response.text for leak in LEAKS):
        raise AssertionError(f"key A's document reached another caller through {case.operation.label}")


def _public_document(hearth, tmp_path) -> str:
    """A document of the page's default collection, which a caller without a key reaches on loopback."""
    note = tmp_path / "public.txt"
    note.write_text("The lighthouse keeper's cat is named Biscuit.\n", encoding="utf-8")
    return next(iter(hearth.ingest([note]))).doc_id


def _aimed(case, draw, doc_ids: list[str]):
    """Three times in four, a real model, collection, document and page, so that the request reaches the work."""
    if not draw(st.integers(0, 3)):  # a quarter as generated
        return case
    path = case.path_parameters or {}
    if "doc_id" in path:  # key A's document in its 'notes', or the page's document in 'default'
        path["name"], path["doc_id"] = draw(st.sampled_from(list(zip(["notes", "default"], doc_ids))))
        path["page"], case.query = 1, {"text": "lighthouse"}
    elif "name" in path:
        path["name"] = draw(st.sampled_from(["notes", "default", "mine"]))
    if isinstance(case.body, dict) and "model" in case.body:
        case.body["model"] = draw(st.sampled_from(["hearth", "hearth", "hearth-rag", "hearth-rag:notes", "hearth-embed"]))
        case.body.pop("collection", None)
    if isinstance(case.body, dict) and isinstance(case.body.get("messages"), list):
        case.body["messages"] = [{"role": "user", "content": draw(st.text(min_size=1, max_size=300))}]
        case.body["max_tokens"] = 8
    return case


def _fuzz(url: str, headers: dict, doc_ids: list[str]) -> dict[str, set[int]]:
    """Every operation, positive and negative; the statuses each gave. Fails on the first broken check."""
    schema = schemathesis.openapi.from_url(f"{url}/v1/openapi.json")
    schema.config.base_url = url
    done: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /v1/chat/completions", "GET /v1/models", "POST /v1/embeddings",
                                                "POST /v1/collections/{name}/documents", "GET /v1/collections",
                                                "GET /v1/collections/{name}/documents/{doc_id}/pages/{page}/preview"}
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # A multipart file part is bytes whatever the schema's type says (a "null" part is a 4-byte file), so
            # an upload cannot tell schemathesis' negative files from real ones.
            negative = mode is GenerationMode.NEGATIVE and op.label != "POST /v1/collections/{name}/documents"
            checks = CHECKS + ([negative_data_rejection] if negative else [])

            @settings(max_examples=EXAMPLES.get(op.label, DEFAULT), deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode), data=st.data())
            def run(case, data):
                if mode is GenerationMode.POSITIVE:  # a negative case stays as wrong as it was made
                    case = _aimed(case, data.draw, doc_ids)
                response = case.call(base_url=url, headers=headers, timeout=300)
                case.validate_response(response, checks=checks, additional_checks=[_no_leak], headers=headers)
                done.setdefault(op.label, set()).add(response.status_code)

            try:
                run()
            except Unsatisfiable:  # nothing to get wrong: no body or parameters (GET /v1/models)
                assert mode is GenerationMode.NEGATIVE
    return done


def test_every_operation_without_keys_on_loopback(serve, hearth, tmp_path):
    url = serve(port=7884, max_tokens=16)
    done = _fuzz(url, {}, [_key_a_document(hearth, url, tmp_path), _public_document(hearth, tmp_path)])
    assert len(done) == 6 and [op for op, statuses in done.items() if 200 not in statuses] == [], done


def test_every_operation_with_keys_required_and_another_keys_collection_out_of_reach(serve, hearth, tmp_path):
    url = serve(port=7884, max_tokens=16, api_keys="required")
    doc_ids = [_key_a_document(hearth, url, tmp_path), _public_document(hearth, tmp_path)]
    _, b = hearth.api_keys.create("key-b", rpm=0, tpm=0)
    done = _fuzz(url, {"Authorization": f"Bearer {b}"}, doc_ids)
    assert len(done) == 6 and 200 in done["POST /v1/chat/completions"], done
    # and with a wrong key every operation is refused in the schema's shape (a body it cannot read, before the key)
    refused = set().union(*_fuzz(url, {"Authorization": "Bearer hearth-not-a-key"}, doc_ids).values())
    assert 401 in refused and refused <= {400, 401}
