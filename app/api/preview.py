"""GET /v1/collections/{name}/documents/{doc_id}/pages/{page}/preview?chunk=<chunk id> (or ?text=<passage>):
a source's page with its passage highlighted, image/png for a PDF and text/html for the other formats, under
the key rules of the other collection routes (a key reaches only its own collections)."""

from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api import schema
from app.api.openai_format import ApiError

__all__ = ["add_preview_route"]


def add_preview_route(router: APIRouter, api, answer: Callable) -> None:
    """Add the route to the /v1 router; `answer` turns errors into OpenAI's error shape."""

    @router.get("/collections/{name}/documents/{doc_id}/pages/{page}/preview", responses=schema.PREVIEWS)
    def preview(name: str, doc_id: str, page: int, request: Request, chunk: str | None = None,
                text: str | None = None):
        return answer(lambda: _preview(api, api.authorize(request, "documents"), name, doc_id, page, chunk, text))


def _preview(api, access, name: str, doc_id: str, page: int, chunk: str | None, text: str | None) -> Response:
    if name not in api.collections(access):
        raise ApiError(404, f"collection {name!r} does not exist for this caller; GET /v1/collections lists yours",
                       code="collection_not_found", param="name")
    if not chunk and not (text or "").strip():
        raise ApiError(400, "name the passage: ?chunk=<chunk id> (a citation's or source's chunk_id) or "
                       "?text=<its text>", code="invalid_input", param="chunk")
    found = api.hearth.previews.preview(doc_id, page, chunk=chunk, text=text, collection=access.collection(name))
    headers = {"Cache-Control": "private, max-age=3600", "X-Hearth-Marked": "true" if found.marked else "false"}
    if found.note:
        headers["X-Hearth-Note"] = found.note
    return Response(found.content, media_type=found.media_type, headers=headers)
