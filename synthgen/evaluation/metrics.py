"""Retrieval metrics at a cutoff, and exact search with numpy.

The three measures of BEIR and MTEB's retrieval tables, over the top `k` documents a
model ranks for each query (k = 10 by default):

- nDCG@k (Järvelin and Kekäläinen 2002): graded relevance from the qrels, linear gain,
  log2 discount: DCG = sum over ranks i = 1..k of rel_i / log2(i + 1), divided by the DCG
  of the ideal order of the query's judged documents (as pytrec_eval and BEIR compute it).
- MRR@k: 1 / the rank of the first relevant document in the top k, else 0.
- Recall@k: the share of the query's relevant documents that reach the top k.

A document is relevant when its qrels score is > 0 (binary relevance for MRR and Recall;
negative scores count as 0 for nDCG). Every measure is averaged over the queries that have
at least one relevant document.

Search is exact: embeddings are L2-normalized, so the dot product is the cosine; within
the top k, equal scores are ordered by corpus position, so rankings repeat run to run.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

K = 10
METRICS = ("ndcg@10", "mrr@10", "recall@10")
ALL = "all"  # the key of the scores over every query


def ndcg_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = K) -> float:
    """nDCG@k of `ranked` document ids against graded `relevance` (doc id -> qrels score)."""
    gains = [max(float(relevance.get(doc, 0.0)), 0.0) for doc in ranked[:k]]
    ideal = sorted((max(float(v), 0.0) for v in relevance.values()), reverse=True)[:k]
    ideal_dcg = _dcg(ideal)
    return _dcg(gains) / ideal_dcg if ideal_dcg > 0 else 0.0


def mrr_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = K) -> float:
    """1 / the rank of the first relevant (score > 0) document within the top k, else 0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevance.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = K) -> float:
    """The share of the relevant (score > 0) documents found in the top k."""
    relevant = {doc for doc, score in relevance.items() if score > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def _dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def top_k(queries: np.ndarray, documents: np.ndarray, k: int = K, chunk: int = 256) -> np.ndarray:
    """For each query row, the indices of the `k` documents with the highest dot product,
    best first (ties: lower index first). Both inputs (n, d), normalized by the caller."""
    k = min(k, len(documents))
    found = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = queries[start:start + chunk] @ documents.T
        if k < scores.shape[1]:
            candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            candidates = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        values = np.take_along_axis(scores, candidates, axis=1)
        for row, (ids, vals) in enumerate(zip(candidates, values)):
            found[start + row] = ids[np.lexsort((ids, -vals))]
    return found


def score_rankings(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, float]],
                   languages: Mapping[str, str] | None = None, k: int = K) -> dict[str, dict[str, float]]:
    """Mean nDCG@k, MRR@k and Recall@k over the queries of `rankings` (query id -> ranked
    doc ids), overall ("all") and per query language (`languages`: query id -> code; queries
    with no language count only in "all"). Each entry also says how many queries it averages."""
    groups: dict[str, list[str]] = {ALL: list(rankings)}
    for query in rankings:
        language = (languages or {}).get(query) or ""
        if language:
            groups.setdefault(language, []).append(query)
    measures = {"ndcg": ndcg_at_k, "mrr": mrr_at_k, "recall": recall_at_k}
    result: dict[str, dict[str, float]] = {}
    for group in [ALL, *sorted(g for g in groups if g != ALL)]:
        queries = groups[group]
        entry = {f"{name}@{k}": float(np.mean([measure(rankings[q], qrels[q], k) for q in queries]))
                 for name, measure in measures.items()}
        entry["queries"] = len(queries)
        result[group] = entry
    return result
