"""Multi-query rewriting: parsing the chat model's rephrasings (pure) and fusing their results in search."""

from conftest import make_pdf
from rag import Catalog, Library, Store, open_chroma
from rag.rewrite import ChatRewriter, parse_rewrites, rewrite_messages


def test_parse_rewrites_strips_numbering_and_drops_preambles_copies_and_rambles():
    reply = ("Here are three rephrasings:\n1. What were Apple's net sales in Q3 2022?\n"
             "2) How much did Apple sell in the third quarter of 2022?\n- \"what were apple's net sales in q3 2022\"\n"
             "* Apple revenue June 2022 quarter\n" + "x " * 200 + "\n4. one too many")
    assert parse_rewrites(reply, "Apple net sales Q3 2022?", limit=3) == [
        "What were Apple's net sales in Q3 2022?", "How much did Apple sell in the third quarter of 2022?",
        "Apple revenue June 2022 quarter"]
    assert parse_rewrites("Apple net sales Q3 2022", "apple net sales q3 2022?") == []
    assert rewrite_messages("q?", 2)[0]["content"].startswith("You rewrite") and "2 different" in \
        rewrite_messages("q?", 2)[0]["content"]


class FakeChatModel:
    """Named fake: stands in for SmolLM2 in the pure wiring test only (the real model is slow and unpredictable)."""

    def __init__(self, reply: str | Exception):
        self.reply = reply

    def stream(self, messages, *, max_tokens, temperature):
        if isinstance(self.reply, Exception):
            raise self.reply
        yield self.reply


def test_chat_rewriter_parses_the_reply_and_fails_open_to_no_rewrites():
    assert ChatRewriter(lambda: FakeChatModel("1. widget budget\n2. money for widgets"))("budget?") == [
        "widget budget", "money for widgets"]
    assert ChatRewriter(lambda: FakeChatModel(RuntimeError("model gone")))("budget?") == []


def test_search_fuses_the_rewrites_rankings(tmp_path, embedder):
    """Real Chroma and BM25: a page only a rewrite's words find joins the results when rewriting is on."""
    pdf = make_pdf(tmp_path / "notes.pdf", ["The zeppelin hangar lease renews in March.",
                                            "Quarterly widget sales rose by four percent."])
    data = tmp_path / "data"
    lib = Library(catalog=Catalog(data / "catalog.sqlite3"), store=Store(open_chroma(data / "chroma"), "default"),
                  embedder=embedder, collection="default", chunk_size=60, chunk_overlap=0,
                  rewrite=lambda q: ["zeppelin hangar lease"])
    list(lib.ingest([pdf]))
    plain = lib.search("widget sales", k=1, rewrite=False, dense=False)
    fused = lib.search("widget sales", k=2, dense=False)
    assert [h.page for h in plain] == [2]
    assert sorted(h.page for h in fused) == [1, 2]
