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
