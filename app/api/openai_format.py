"""OpenAI chat-completion shapes from Hearth turns, and Hearth turns from OpenAI messages. Pure functions."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import quote

from app.turn import TurnResult
from core.errors import HearthError, InputError, LimitError, ModelError, NotFoundError

__all__ = ["ChatInputs", "ApiError", "api_error", "read_messages", "resolve_model", "finish_reason", "usage", "hearth_extra",
           "completion", "chunk", "error_body", "new_id", "CHAT_MODEL", "RAG_MODEL", "EMBED_MODEL"]

CHAT_MODEL = "hearth"  # plain chat, guarded
RAG_MODEL = "hearth-rag"  # answers from a collection: hearth-rag (the default one) or hearth-rag:<collection>
EMBED_MODEL = "hearth-embed"


class ApiError(Exception):
    """An error the API answers in OpenAI's shape: {"error": {"message", "type", "code"}}."""

    def __init__(self, status: int, message: str, *, code: str, type_: str = "invalid_request_error",
                 headers: dict | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.type, self.headers, self.param = (
            status, message, code, type_, headers or {}, param)


# Hearth's error families (core/errors.py) as HTTP statuses and OpenAI error codes.
_STATUS = [(InputError, 400, "invalid_request"), (NotFoundError, 404, "not_found"),
           (LimitError, 429, "limit_exceeded"), (ModelError, 503, "model_unavailable")]


def api_error(e: HearthError, *, param: str | None = None) -> ApiError:
    """The API's answer to an error Hearth raised on purpose: its message, with the family's status."""
    status, code = next(((st, c) for cls, st, c in _STATUS if isinstance(e, cls)), (500, "internal_error"))
    return ApiError(status, str(e), code=code, param=param,
                    type_="invalid_request_error" if status < 500 else "server_error")


@dataclass
class ChatInputs:
    question: str
    history: list[tuple[str, str]] = field(default_factory=list)
    system: str | None = None
    screen: list[str] = field(default_factory=list)  # every other text the client sent, checked like the question


def _text(content) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if not isinstance(p, dict) or p.get("type") != "text":
                raise ApiError(400, "only text content parts are supported", code="unsupported_content",
                               param="messages")
            parts.append(str(p.get("text", "")))
        return "\n".join(parts)
    raise ApiError(400, "message content must be a string or a list of text parts", code="invalid_content",
                   param="messages")


def read_messages(messages: Sequence[dict]) -> ChatInputs:
    """The last user message is the question; earlier user/assistant pairs the history; system text apart."""
    if not messages:
        raise ApiError(400, "messages is empty", code="invalid_messages", param="messages")
    roles = [m.get("role") for m in messages]
    if roles[-1] != "user":
        raise ApiError(400, "the last message must come from the user", code="invalid_messages", param="messages")
    system, history, screen = [], [], []
    pending: list[str] = []
    for m in messages[:-1]:
        role, text = m.get("role"), _text(m.get("content"))
        if role in ("system", "developer"):
            system.append(text)
        elif role == "user":
            pending.append(text)
        elif role == "assistant":
            history.append(("\n".join(pending), text))
            pending = []
        else:
            raise ApiError(400, f"message role {role!r} is not supported (system, user, assistant)",
                           code="invalid_messages", param="messages")
        screen.append(text)
    question = "\n".join([*pending, _text(messages[-1].get("content"))]).strip()
    if not question:
        raise ApiError(400, "the last user message is empty", code="invalid_messages", param="messages")
    return ChatInputs(question, history, "\n".join(system).strip() or None, [t for t in screen if t.strip()])


def resolve_model(model: str, collection: str | None) -> str | None:
    """None for plain chat, else the collection to answer from (named by the model or the parameter)."""
    if model == CHAT_MODEL:
        return collection
    if model == RAG_MODEL:
        return collection or ""
    if model.startswith(RAG_MODEL + ":") and len(model) > len(RAG_MODEL) + 1:
        return model[len(RAG_MODEL) + 1:]
    raise ApiError(404, f"model {model!r} does not exist; GET /v1/models lists them", code="model_not_found",
                   param="model")


def finish_reason(turn: TurnResult, max_tokens: int) -> str:
    if turn.blocked:
        return "content_filter"
    if turn.timings.get("tokens", 0) >= max_tokens and not turn.stopped:
        return "length"
    return "stop"


def usage(turn: TurnResult) -> dict:
    prompt, answer = int(turn.timings.get("prompt_tokens", 0)), int(turn.timings.get("tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer}


def hearth_extra(turn: TurnResult) -> dict:
    """What Hearth adds to a response: the checks, why it was blocked, the categories, the message, the answer's
    figures (each grounded in a source or not) and, when some are not, the source lines holding the asked-for ones."""
    blocking = [c for c in turn.checks if not c.allowed]
    return {"blocked": turn.blocked, "blocked_by": turn.blocked_by,
            "categories": sorted({cat for c in blocking for cat in c.categories}),
            "message": turn.message, "checks": [c.to_dict() for c in turn.checks],
            "timings": {k: round(v, 1) for k, v in turn.timings.items()},
            "figures": [f.to_dict() for f in turn.figures], "evidence": [e.to_dict() for e in turn.evidence],
            "not_found": turn.not_found}


def _citations(turn: TurnResult, collection: str | None = None) -> list[dict]:
    """Each citation (file, page, doc_id, chunk_id, passage) and, from a collection, the path of its page preview."""
    return [{**c.to_dict(), **({"preview": preview_path(collection, c.doc_id, c.page, c.chunk_id)}
                               if collection is not None and c.chunk_id else {})} for c in turn.citations]


def preview_path(collection: str, doc_id: str, page: int, chunk_id: str) -> str:
    """Where GET returns the page with the passage highlighted (app/api/preview.py)."""
    name, doc, chunk_ = quote(collection, safe=""), quote(doc_id, safe=""), quote(chunk_id, safe=":")
    return f"/v1/collections/{name}/documents/{doc}/pages/{page}/preview?chunk={chunk_}"


def completion(turn: TurnResult, *, model: str, max_tokens: int, id_: str | None = None,
               collection: str | None = None) -> dict:
    """A whole chat.completion; a blocked turn says so in its content and finish_reason."""
    content = turn.message if turn.blocked else turn.answer
    return {
        "id": id_ or new_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason(turn, max_tokens), "logprobs": None}],
        "usage": usage(turn), "citations": _citations(turn, collection), "hearth": hearth_extra(turn),
    }


def chunk(id_: str, model: str, *, content: str | None = None, role: str | None = None,
          finish: str | None = None, turn: TurnResult | None = None, with_usage: bool = False,
          collection: str | None = None) -> dict:
    """One chat.completion.chunk; the last one (finish set) carries citations and Hearth's checks."""
    delta = {k: v for k, v in (("role", role), ("content", content)) if v is not None}
    out = {"id": id_, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    if turn is not None:
        out["citations"] = _citations(turn, collection)
        out["hearth"] = hearth_extra(turn)
        if with_usage:
            out["usage"] = usage(turn)
    return out


def error_body(e: ApiError) -> dict:
    return {"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}}


def new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]
