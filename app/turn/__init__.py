"""The turn: question checks, retrieval, a streamed answer, answer checks, release (pipeline.py); the prompt and
what fits the context (prompt.py, context.py); the events and the result a turn yields (results.py); the answer's
figures against its passages (figures.py parses and compares, grounding.py links, withholds and quotes); whether
the documents support an answer at all (support.py: "not in the documents")."""

from app.turn.pipeline import MAX_QUESTION_CHARS, Layer, Pipeline
from app.turn.results import (Check, CheckDone, Citation, Drafting, Finished, Released, SourcesFound,
                              TurnResult)

__all__ = ["Check", "CheckDone", "Citation", "Drafting", "Finished", "Layer", "MAX_QUESTION_CHARS", "Pipeline",
           "Released", "SourcesFound", "TurnResult"]
