"""The optional last stage of search: the chat model puts the pages that answer first (rag.page_rerank, setting
llm_rerank). The order it makes is tested with a stand-in model that replies what it is told; the real SmolLM2 is
run through it once, for a reply search can use whatever it says."""

from __future__ import annotations

import pytest

from conftest import AAPL_PDF
from rag import Catalog, Library, Store, open_chroma
from rag.page_rerank import ChatPageReranker, parse_order, rerank_messages

QUESTION = "What were total iPhone net sales for the three months ended June 25, 2022?"


class StandInModel:
    """Not a language model: replies with a fixed text, and records the messages it was given."""

    def __init__(self, reply: str = "", fail: bool = False):
        self.reply, self.fail, self.seen = reply, fail, []

    def stream(self, messages, **_):
        self.seen.append(messages)
        if self.fail:
            raise RuntimeError("the model is gone")
        return iter([self.reply])


@pytest.mark.parametrize("reply, order", [
    ("3, 1", [2, 0]), ("[2] then [2] and 9", [1]), ("0", []), ("none of them", []), ("1,2,3,4", [0, 1, 2, 3]),
])
def test_a_reply_is_read_as_the_passages_it_names_in_order(reply, order):
    assert parse_order(reply, 4) == order


def test_the_prompt_numbers_the_passages_and_cuts_long_ones():
    messages = rerank_messages(" Q? ", ["first\npassage", "x" * 5000])
    user = messages[-1]["content"]
    assert user.startswith("Question: Q?") and "[1] first passage" in user and "[2] " + "x" * 700 + "\n" in user + "\n"
    assert "x" * 701 not in user


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    data = tmp_path_factory.mktemp("rerank")
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "default"),
                  embedder=embedder, collection="default")
    list(lib.ingest([AAPL_PDF]))
    return data


def _library(data, embedder, page_rerank) -> Library:
    return Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "default"),
                   embedder=embedder, collection="default", page_rerank=page_rerank)


def test_the_pages_the_model_names_come_first_and_the_rest_keep_their_order(indexed, embedder):
    plain = _library(indexed, embedder, None).search(QUESTION, k=5)
    model = StandInModel("4, 2")
    reranked = _library(indexed, embedder, ChatPageReranker(lambda: model)).search(QUESTION, k=5)
    assert [h.page for h in reranked] == [plain[3].page, plain[1].page, plain[0].page, plain[2].page, plain[4].page]
    passages = model.seen[0][-1]["content"]
    assert passages.count("\n[") == 8 and f"page {plain[0].page}" in passages  # the top 8 pages, with where they are
    assert [h.page for h in _library(indexed, embedder, ChatPageReranker(lambda: model)).search(
        QUESTION, k=5, rerank=False)] == [h.page for h in plain]  # rerank=False skips it


def test_a_failing_model_leaves_search_as_it_was(indexed, embedder):
    plain = _library(indexed, embedder, None).search(QUESTION, k=5)
    for model in (StandInModel(fail=True), StandInModel("I cannot tell.")):
        hits = _library(indexed, embedder, ChatPageReranker(lambda: model)).search(QUESTION, k=5)
        assert [h.chunk_id for h in hits] == [h.chunk_id for h in plain]


def test_the_real_chat_model_gives_a_reply_search_can_use(indexed, embedder, chat_model):
    rerank = ChatPageReranker(lambda: chat_model)
    hits = _library(indexed, embedder, rerank).search(QUESTION, k=5)
    assert len(hits) == 5 and len({(h.file, h.page) for h in hits}) == 5  # five pages, each once
    order = rerank(QUESTION, [h.text for h in hits])
    assert all(0 <= i < 5 for i in order) and len(set(order)) == len(order)
