"""Pure parts of retrieval: reciprocal-rank fusion and maximal marginal relevance, and the BM25 tokenizer."""

import numpy as np

from rag import mmr, rrf, tokenize


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf([["a", "b", "c"], ["c", "a", "d"]])
    assert [key for key, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == 1 / 61 + 1 / 62


def test_mmr_skips_near_copies_and_lambda_one_keeps_relevance_order():
    vectors = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0]])
    relevance = [1.0, 0.95, 0.6]
    assert mmr(relevance, vectors, 2, lam=0.5) == [0, 2]
    assert mmr(relevance, vectors, 3, lam=1.0) == [0, 1, 2]
    assert mmr([], np.zeros((0, 2)), 3) == []


def test_tokenize_cuts_chinese_words_and_drops_stopwords():
    words = tokenize("What is the 营业收入 of Apple在第三季度?")
    assert "what" not in words and "the" not in words and "apple" in words
    assert "营业" in words or "营业收入" in words
    assert "季度" in words or "第三季度" in words


def test_bm25_segments_merge_when_later_documents_bring_new_words():
    """Documents indexed one by one make many segments of growing width; merging them keeps every word."""
    import sqlite3
    import threading

    from rag.lexical import SCHEMA, LexicalIndex

    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    index = LexicalIndex(db, threading.RLock(), "default")
    words = ["apple", "banana", "cherry", "damson", "elderberry", "fig", "grape", "hazelnut", "kiwi", "lemon",
             "mango", "nectarine"]
    for n, word in enumerate(words, 1):  # one new word per document: each later segment is wider
        index.add(f"doc{n}", [(f"doc{n}-c1", f"shared report about {word} harvests")])
        index.sync([f"doc{i}" for i in range(1, n + 1)], version=n)
    assert len(index._segments) < len(words)  # merged at least once
    for n, word in enumerate(words, 1):
        [hit] = index.search(word, k=3)
        assert (hit.doc_id, hit.chunk_id) == (f"doc{n}", f"doc{n}-c1")
    assert len(index.search("shared harvests", k=20)) == len(words)
    index.sync([f"doc{i}" for i in range(2, len(words) + 1)], version="forgot doc1")
    assert index.search("apple", k=3) == []
