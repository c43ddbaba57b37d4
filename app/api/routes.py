"""The OpenAI-compatible API, served by the page's own FastAPI app on the same port.

POST /v1/chat/completions (streamed as SSE or not), GET /v1/models, POST /v1/embeddings, and
POST/GET /v1/collections for a key's own documents
(and a source's page preview, app/api/preview.py). Every chat turn is Pipeline.run, with the same
keyword and Llama Guard checks as the page; embedding inputs pass the same question checks.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.keys import Access, keys_required
from app.services import installs
from app.api.openai_format import (CHAT_MODEL, EMBED_MODEL, RAG_MODEL, ApiError, api_error, chunk, completion,
                                   error_body, finish_reason, new_id, read_messages, resolve_model)
from app.api import schema
from app.api.preview import add_preview_route
from app.services.documents import check_collection_name
from app.turn import Finished, Released
from core.errors import HearthError
from core.names import upload_name

__all__ = ["api_router"]

log = logging.getLogger(__name__)

class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict]
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    stream_options: dict | None = None
    collection: str | None = None  # extra_body: answer from this collection
    top_k: int | None = Field(None, ge=1, le=50)


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = EMBED_MODEL
    input: str | list[str]
    encoding_format: str | None = None


class Api:
    def __init__(self, hearth):
        self.hearth = hearth
        self.limiter = hearth.rate_limiter

    # -- access ----------------------------------------------------------------------------

    def authorize(self, request: Request, endpoint: str, model: str | None = None) -> Access:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        key = self.hearth.api_keys.verify(token) if token else None
        if key is None:
            if keys_required(self.hearth.settings):
                what = "is not valid (or was revoked)" if token else "is missing"
                raise ApiError(401, f"the API key {what}; send `Authorization: Bearer <key>` with a key from "
                               "`hearth keys create`", code="invalid_api_key")
            return Access(None)
        if not key.allows_endpoint(endpoint):
            raise ApiError(403, f"key {key.name!r} may not use the {endpoint} endpoint; create a key with "
                           f"--endpoint {endpoint}", code="endpoint_not_allowed", type_="permission_error")
        if model is not None and not key.allows_model(model):
            raise ApiError(403, f"key {key.name!r} may not use model {model!r}", code="model_not_allowed",
                           type_="permission_error", param="model")
        wait = self.limiter.admit(key.id, rpm=key.rpm, tpm=key.tpm, now=time.monotonic())
        if wait:
            raise ApiError(429, f"key {key.name!r} is over its rate limit ({key.rpm} requests, {key.tpm} tokens "
                           f"per minute); retry in {wait:.0f} s", code="rate_limit_exceeded",
                           type_="requests", headers={"Retry-After": str(int(wait))})
        return Access(key)

    def spend(self, access: Access, tokens: int) -> None:
        if access.key is not None:
            self.limiter.spend(access.key.id, tokens, now=time.monotonic())

    def collections(self, access: Access) -> list[str]:
        names = {access.own(c) for c in self.hearth.catalog.collections()}
        if access.key is None:
            names.add(self.hearth.settings.collection)
        return sorted(n for n in names if n)

    # -- chat ------------------------------------------------------------------------------

    def chat(self, req: ChatRequest, access: Access):
        collection = resolve_model(req.model, req.collection)
        name = None if collection is None else collection or self.hearth.settings.collection  # as the caller names it
        if name is not None:
            if name not in self.collections(access):
                raise ApiError(404, f"collection {name!r} does not exist for this caller; GET /v1/collections "
                               "lists yours", code="model_not_found", param="model")
            collection = access.collection(name)
        inputs = read_messages(req.messages)
        max_tokens = min(req.max_completion_tokens or req.max_tokens or self.hearth.settings.max_tokens,
                         self.hearth.settings.max_tokens)
        pipeline = self.hearth.pipeline(collection, temperature=req.temperature, top_k=req.top_k,
                                        max_tokens=max_tokens, retrieve=collection is not None)
        stop = threading.Event()
        events = _in_thread(lambda: pipeline.run(inputs.question, history=inputs.history, system=inputs.system,
                                                 screen=inputs.screen, stop=stop), stop)
        try:
            first = next(events)  # a bad question (empty, too long) fails here, before any byte is sent
        except HearthError as e:
            raise api_error(e, param="messages") from None
        if not req.stream:
            turn = _finish(first, events)
            self.spend(access, int(turn.timings.get("prompt_tokens", 0) + turn.timings.get("tokens", 0)))
            return completion(turn, model=req.model, max_tokens=max_tokens, collection=name)
        with_usage = bool((req.stream_options or {}).get("include_usage"))
        return StreamingResponse(self._sse(first, events, req.model, max_tokens, with_usage, access, name),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    def _sse(self, first, events, model: str, max_tokens: int, with_usage: bool, access: Access,
             collection: str | None) -> Iterator[str]:
        id_, sent = new_id(), 0
        yield _data(chunk(id_, model, role="assistant", content=""))
        for event in _chain(first, events):
            if isinstance(event, Released) and len(event.text) > sent:
                yield _data(chunk(id_, model, content=event.text[sent:]))
                sent = len(event.text)
            elif isinstance(event, Finished):
                turn = event.result
                self.spend(access, int(turn.timings.get("prompt_tokens", 0) + turn.timings.get("tokens", 0)))
                # A block after pieces were sent withdraws them; the message says so, as on the page.
                text = turn.message if turn.blocked else None
                yield _data(chunk(id_, model, content=text, finish=finish_reason(turn, max_tokens), turn=turn,
                                  with_usage=with_usage, collection=collection))
        yield "data: [DONE]\n\n"

    # -- embeddings and documents ----------------------------------------------------------

    def embeddings(self, req: EmbeddingRequest, access: Access) -> dict:
        if req.model not in (EMBED_MODEL, self.hearth.embedder.name):
            raise ApiError(404, f"model {req.model!r} is not an embedding model; use {EMBED_MODEL!r}",
                           code="model_not_found", param="model")
        if req.encoding_format not in (None, "float", "base64"):
            raise ApiError(400, "encoding_format is float or base64", code="invalid_encoding",
                           param="encoding_format")
        texts = [req.input] if isinstance(req.input, str) else list(req.input)
        if not texts or any(not t.strip() for t in texts):
            raise ApiError(400, "input must be one or more non-empty strings", code="invalid_input", param="input")
        pipeline = self.hearth.pipeline(retrieve=False)
        c = next((c for t in texts for c in pipeline.check(t.strip()) if not c.allowed), None)
        if c is not None:  # each input is checked like a question, failing closed and audited
            raise ApiError(400, f"input blocked by the {c.layer} check ({', '.join(c.categories) or c.status}): "
                           f"{c.reason}", code="content_filter", param="input")
        vectors = self.hearth.embedder.embed(texts)
        tokens = sum(math.ceil(len(t) / 4) for t in texts)  # approximate: counted for rate limits only
        self.spend(access, tokens)
        return {"object": "list", "model": EMBED_MODEL, "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                "data": [{"object": "embedding", "index": i, "embedding": _encode(v, req.encoding_format)}
                         for i, v in enumerate(vectors)]}

    def models(self, access: Access) -> dict:
        names = [CHAT_MODEL, RAG_MODEL, *(f"{RAG_MODEL}:{c}" for c in self.collections(access)), EMBED_MODEL]
        if access.key is not None:
            names = [n for n in names if access.key.allows_model(n)]
        info = installs.serving(self.hearth)  # the models in use and installed, under a `hearth` extra
        return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "hearth", "hearth":
                                            info["embedding" if n == EMBED_MODEL else "chat"]} for n in names]}

    def add_documents(self, name: str, files: list[UploadFile], access: Access) -> dict:
        check_collection_name(name)
        if not files:
            raise ApiError(400, "send one or more files as multipart field 'file'", code="invalid_input")
        uploads = self.hearth.settings.data_dir / "cache" / "uploads"  # never outside the data dir
        uploads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="api-", dir=uploads) as tmp:
            paths = []
            for i, f in enumerate(files):  # each in a folder of its own, under a name that stays in it
                path = Path(tmp) / str(i) / upload_name(f.filename)
                path.parent.mkdir()
                with path.open("wb") as out:
                    while block := f.file.read(1 << 20):
                        out.write(block)
                paths.append(path)
            results = [{**r.to_dict(), "file": Path(r.file).name}  # the name sent, not the server's folders
                       for r in self.hearth.documents.ingest(paths, collection=access.collection(name))]
        return {"collection": name, "documents": results}

    def list_collections(self, access: Access) -> dict:
        data = []
        for name in self.collections(access):
            docs = self.hearth.documents.list(access.collection(name))
            data.append({"name": name, "model": f"{RAG_MODEL}:{name}", "documents": len(docs)})
        return {"object": "list", "data": data}


def api_router(hearth) -> APIRouter:
    """The /v1 routes over one Hearth; errors come back in OpenAI's error shape."""
    api = Api(hearth)
    router = APIRouter(prefix="/v1", route_class=schema.OpenAiRoute)

    def answer(fn, *args):
        try:
            out = fn(*args)
        except (HearthError, ApiError) as e:
            err = api_error(e) if isinstance(e, HearthError) else e
            return JSONResponse(error_body(err), status_code=err.status, headers=err.headers)
        return out if not isinstance(out, dict) else JSONResponse(out)

    @router.post("/chat/completions", responses=schema.CHAT)
    def chat_completions(req: ChatRequest, request: Request):
        return answer(lambda: api.chat(req, api.authorize(request, "chat", req.model)))

    @router.get("/models", responses=schema.MODELS)
    def list_models(request: Request):
        return answer(lambda: api.models(api.authorize(request, "models")))

    @router.post("/embeddings", responses=schema.EMBEDDINGS)
    def embeddings(req: EmbeddingRequest, request: Request):
        return answer(lambda: api.embeddings(req, api.authorize(request, "embeddings", req.model)))

    @router.post("/collections/{name}/documents", responses=schema.ADD_DOCUMENTS)
    def add_documents(name: str, request: Request, file: list[UploadFile]):
        return answer(lambda: api.add_documents(name, file, api.authorize(request, "documents")))

    @router.get("/collections", responses=schema.COLLECTIONS)
    def list_collections(request: Request):
        return answer(lambda: api.list_collections(api.authorize(request, "documents")))

    add_preview_route(router, api, answer)
    schema.add_schema_route(router)
    return router


def _encode(vector, encoding_format: str | None):
    """A vector as JSON floats, or as base64 of little-endian float32 (what the openai client asks for)."""
    if encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


def _data(obj: dict) -> str:
    return "data: " + json.dumps(obj, ensure_ascii=False) + "\n\n"


_DONE = object()


def _in_thread(make_events, stop: threading.Event) -> Iterator[Any]:
    """Run a turn on its own thread and hand its events over: the chat model's lock is taken and
    released on one thread while the web server reads the events from whichever thread it likes.
    Closing the iterator (a client that went away) stops the turn."""
    q: queue.Queue = queue.Queue()

    def work():
        try:
            for event in make_events():
                q.put(event)
        except BaseException as e:  # handed to the reader, which raises it
            q.put(e)
        finally:
            q.put(_DONE)

    threading.Thread(target=work, name="hearth-api-turn", daemon=True).start()
    try:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _chain(first, rest):
    yield first
    yield from rest


def _finish(first, events):
    for event in _chain(first, events):
        if isinstance(event, Finished):
            return event.result
    raise ApiError(500, "the turn ended without a result", code="internal_error", type_="server_error")
