"""nDCG@10, MRR@10 and Recall@10 against values computed by hand on a toy set: 5 documents,
3 queries, one query with two relevant documents of different grades, one with a document
judged 0 (not relevant)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthgen.evaluation.metrics import mrr_at_k, ndcg_at_k, recall_at_k, score_rankings, top_k

QRELS = {
    "q1": {"d1": 2, "d3": 1},  # graded: d1 is the better answer
    "q2": {"d5": 1},
    "q3": {"d2": 1, "d4": 0},  # d4 was judged and found not relevant
}
RANKINGS = {
    "q1": ["d3", "d2", "d1", "d4", "d5"],
    "q2": ["d1", "d2", "d3", "d4", "d5"],
    "q3": ["d4", "d1", "d2", "d3", "d5"],
}
# q1: DCG = 1/log2(2) + 2/log2(4) = 2; ideal order d1, d3: IDCG = 2/log2(2) + 1/log2(3) = 2.6309...
Q1_NDCG = 2 / (2 + 1 / math.log2(3))  # 0.76019
Q2_NDCG = 1 / math.log2(6)  # its one relevant document at rank 5: 0.38685
Q3_NDCG = 1 / math.log2(4)  # rank 3: 0.5


@pytest.mark.parametrize("query, ndcg, mrr", [("q1", Q1_NDCG, 1.0), ("q2", Q2_NDCG, 1 / 5), ("q3", Q3_NDCG, 1 / 3)])
def test_each_query_by_hand(query, ndcg, mrr):
    assert ndcg_at_k(RANKINGS[query], QRELS[query]) == pytest.approx(ndcg)
    assert mrr_at_k(RANKINGS[query], QRELS[query]) == pytest.approx(mrr)
    assert recall_at_k(RANKINGS[query], QRELS[query]) == 1.0  # every document is in the top 10


def test_a_cutoff_below_the_relevant_documents():
    # top 2 of q1: d3 (grade 1) and d2: DCG = 1, half of its relevant documents found
    assert ndcg_at_k(RANKINGS["q1"], QRELS["q1"], k=2) == pytest.approx(1 / (2 + 1 / math.log2(3)))
    assert recall_at_k(RANKINGS["q1"], QRELS["q1"], k=2) == 0.5
    assert mrr_at_k(RANKINGS["q2"], QRELS["q2"], k=4) == 0.0
    assert ndcg_at_k(RANKINGS["q2"], QRELS["q2"], k=4) == 0.0


def test_a_perfect_ranking_scores_one():
    assert ndcg_at_k(["d1", "d3", "d2"], QRELS["q1"]) == pytest.approx(1.0)
    assert mrr_at_k(["d1"], QRELS["q1"]) == 1.0


def test_means_overall_and_per_language():
    scores = score_rankings(RANKINGS, QRELS, {"q1": "en", "q2": "en", "q3": "de"})
    assert list(scores) == ["all", "de", "en"]
    assert scores["all"]["ndcg@10"] == pytest.approx((Q1_NDCG + Q2_NDCG + Q3_NDCG) / 3)  # 0.54901
    assert scores["all"]["mrr@10"] == pytest.approx((1 + 1 / 5 + 1 / 3) / 3)
    assert scores["all"]["recall@10"] == 1.0 and scores["all"]["queries"] == 3
    assert scores["en"]["ndcg@10"] == pytest.approx((Q1_NDCG + Q2_NDCG) / 2)
    assert scores["de"] == {"ndcg@10": pytest.approx(Q3_NDCG), "mrr@10": pytest.approx(1 / 3), "recall@10": 1.0,
                            "queries": 1}


def test_queries_without_a_language_count_only_in_all():
    scores = score_rankings(RANKINGS, QRELS, {"q1": "en"})
    assert list(scores) == ["all", "en"] and scores["en"]["queries"] == 1


def test_top_k_is_exact_and_breaks_ties_by_corpus_order():
    documents = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [1.0, 0.0], [-1.0, 0.0]])
    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert top_k(queries, documents, k=3).tolist() == [[0, 3, 2], [1, 2, 0]]
    assert top_k(queries, documents, k=10).shape == (2, 5)  # k above the corpus size: every document
    assert top_k(queries, documents, k=2, chunk=1).tolist() == [[0, 3], [1, 2]]
