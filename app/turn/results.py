"""What a turn yields as it runs (events) and what it leaves (the result): plain data, no behaviour."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rag.store import Hit

__all__ = ["Check", "Citation", "FigureLink", "Evidence", "TurnResult", "CheckDone", "SourcesFound", "Drafting",
           "Released", "Finished"]


@dataclass(frozen=True)
class Check:
    stage: str  # question | answer
    layer: str  # keyword | llama_guard | support | figures
    status: str  # passed | blocked | missing | error; support: passed | refused | weak; figures: passed | marked |
    # withheld (support and figures never block)
    categories: tuple[str, ...] = ()
    score: float | None = None
    reason: str = ""
    ms: float = 0.0

    @property
    def allowed(self) -> bool:
        return self.status in ("passed", "missing", "marked", "withheld", "refused", "weak")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["categories"] = list(self.categories)
        return d


@dataclass(frozen=True)
class Citation:
    n: int
    file: str
    page: int
    doc_id: str
    text: str
    cited: bool = True
    chunk_id: str = ""  # the passage, for its page preview (/v1/collections/<c>/documents/<doc_id>/pages/<page>/preview)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FigureLink:
    """A figure of the answer and the source that holds it (n, file, page), or grounded=False: not in the sources."""
    text: str
    kind: str  # amount | percent | count | date | year | period
    value: float | int | str
    grounded: bool
    n: int | None = None
    file: str = ""
    page: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """A line of a source that holds figures the question asks about (shown when the answer has ungrounded ones)."""
    text: str
    n: int
    file: str
    page: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TurnResult:
    question: str
    answer: str = ""
    blocked: bool = False
    blocked_by: str = ""  # "question/keyword", "answer/llama_guard", ...
    message: str = ""  # what the user is told about a block, a cut or a warning
    checks: list[Check] = field(default_factory=list)
    sources: list[Hit] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    history_dropped: int = 0  # earlier turns left out to fit the context
    figures: list[FigureLink] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    not_found: bool = False  # the documents do not support an answer: none was generated (app/turn/support.py)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "blocked": self.blocked,
            "blocked_by": self.blocked_by,
            "message": self.message,
            "citations": [c.to_dict() for c in self.citations],
            "checks": [c.to_dict() for c in self.checks],
            "sources": [h.to_dict() for h in self.sources],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
            "stopped": self.stopped,
            "history_dropped": self.history_dropped,
            "figures": [f.to_dict() for f in self.figures],
            "evidence": [e.to_dict() for e in self.evidence],
            "not_found": self.not_found,
        }


@dataclass(frozen=True)
class CheckDone:
    check: Check


@dataclass(frozen=True)
class SourcesFound:
    sources: list[Hit]


@dataclass(frozen=True)
class Drafting:
    tokens: int  # generated so far, not yet released


@dataclass(frozen=True)
class Released:
    text: str  # the whole answer released so far (replaces what was shown)


@dataclass(frozen=True)
class Finished:
    result: TurnResult
