"""What the /v1 routes answer, as OpenAPI: a model per response body and the statuses each route can give, and
GET /v1/openapi.json, the API's own schema (the page's FastAPI app has Gradio's routes too). Clients and
tests/test_api_schema.py (schemathesis) read it; the bodies themselves are built in app/api/openai_format.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException  # what FastAPI raises for a body it cannot parse (not its subclass)
from pydantic import BaseModel, ConfigDict

__all__ = ["ErrorBody", "ModelList", "ChatCompletion", "EmbeddingList", "DocumentsAdded", "CollectionList",
           "errors", "add_schema_route", "OpenAiRoute", "CHAT", "MODELS", "EMBEDDINGS", "ADD_DOCUMENTS", "COLLECTIONS", "PREVIEWS"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Error(_Open):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(_Open):
    """Every error, in OpenAI's shape."""

    error: _Error


class _Model(_Open):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(_Open):
    object: str
    data: list[_Model]


class _Message(_Open):
    role: str
    content: str | None


class _Choice(_Open):
    index: int
    message: _Message
    finish_reason: str


class _Usage(_Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(_Open):
    id: str
    object: str
    created: int
    model: str
    choices: list[_Choice]
    usage: _Usage
    citations: list[dict[str, Any]]
    hearth: dict[str, Any]


class _Embedding(_Open):
    object: str
    index: int
    embedding: list[float] | str  # floats, or base64 of little-endian float32


class _EmbeddingUsage(_Open):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(_Open):
    object: str
    model: str
    usage: _EmbeddingUsage
    data: list[_Embedding]


class _FileResult(_Open):
    file: str
    status: str
    doc_id: str | None
    pages: int
    chunks: int
    error: str | None
    warnings: list[str]


class DocumentsAdded(_Open):
    collection: str
    documents: list[_FileResult]


class _Collection(_Open):
    name: str
    model: str
    documents: int


class CollectionList(_Open):
    object: str
    data: list[_Collection]


_WHY = {400: "the request is malformed or its input was blocked", 401: "no valid API key",
        403: "the key may not use this endpoint or model", 404: "no such model, collection, document or page",
        413: "a file over the size limit", 429: "over the key's rate limit, or a quota (Retry-After says when)",
        503: "the model is not available"}

# A streamed chat completion (stream: true): each server-sent event's data is a chat.completion.chunk in JSON,
# the last one "[DONE]".
SSE = {"text/event-stream": {"schema": {"type": "object", "required": ["data"],
                                        "properties": {"data": {"type": "string"}, "event": {"type": "string"}}}}}
PREVIEW = {"image/png": {"schema": {"type": "string", "format": "binary"}},
           "text/html": {"schema": {"type": "string"}}}


def errors(*statuses: int) -> dict[int | str, dict]:
    """The error answers a route can give, each an ErrorBody."""
    return {s: {"model": ErrorBody, "description": _WHY[s]} for s in (401, 403, 429, *statuses)}


# What each route answers, for its decorator's `responses`.
CHAT = {200: {"model": ChatCompletion, "content": SSE, "description": "a chat.completion, or its chunks as SSE"},
        **errors(400, 404, 503)}
MODELS = {200: {"model": ModelList}, **errors()}
EMBEDDINGS = {200: {"model": EmbeddingList}, **errors(400, 404, 503)}
ADD_DOCUMENTS = {200: {"model": DocumentsAdded, "description": "each file's result (a bad file fails alone)"},
                 **errors(400, 404, 413)}
COLLECTIONS = {200: {"model": CollectionList}, **errors()}
PREVIEWS = {200: {"content": PREVIEW, "description": "the page, its passage marked"}, **errors(400, 404)}


class OpenAiRoute(APIRoute):
    """A /v1 route whose refusals of a body it cannot read (not JSON, a field of the wrong type) come back as a 400
    in OpenAI's error shape, like every other error of the API, not as FastAPI's {"detail": ...}."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def handle(request: Request):
            try:
                return await handler(request)
            except RequestValidationError as e:
                first = e.errors()[0] if e.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p != "body" and not isinstance(p, int))
                return _refusal(f"{where or 'the request body'}: {first.get('msg', 'is not valid')}; see GET "
                                "/v1/openapi.json for what this route takes", where.split(".")[0] or None)
            except HTTPException as e:
                if e.status_code != 400:
                    raise
                return _refusal(f"the request body could not be read ({e.detail}); send JSON, or multipart for "
                                "uploads", None)

        return handle


def _refusal(message: str, param: str | None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": "invalid_request"}}, status_code=400)


def add_schema_route(router: APIRouter) -> None:
    """GET /v1/openapi.json: the OpenAPI document of the router's routes (and only those)."""
    cache: dict[str, dict] = {}

    @router.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        if "doc" not in cache:
            cache["doc"] = get_openapi(title="Hearth API (OpenAI-compatible)", version=_version(),
                                       routes=[r for r in router.routes if getattr(r, "include_in_schema", True)])
            for op in (op for ops in cache["doc"]["paths"].values() for op in ops.values()):
                op["responses"].pop("422", None)  # OpenAiRoute answers those as a 400 ErrorBody
            for name in ("HTTPValidationError", "ValidationError"):
                cache["doc"].get("components", {}).get("schemas", {}).pop(name, None)
        return cache["doc"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hearth-rag")
    except PackageNotFoundError:
        return "0"
