"""Embedding gates: the cosine filter of the Qwen3 Embedding report, and round-trip consistency.

- `CosineFilter`: keep a pair when cosine(query, positive) >= the threshold under the
  recipe's embedder: by default calibrated per language on known-good pairs of the run's
  documents (synthgen/gates/calibration.py); the report's fixed 0.7 (it kept about 12M of
  150M synthetic pairs) by name. Instruction-aware embedders embed the query with the
  recipe's `query_prompt`.
- `MarginFilter`: for rows whose negatives were generated with them (sts, classification,
  bitext, corpus-free), keep a row when its positive scores at least `min_margin` above
  its best negative: a "hard negative" the embedder prefers to the positive is more
  likely a second positive than a negative (the false-negative problem of NV-Retriever,
  arXiv 2407.15831, seen from the generator's side).
- `ConsistencyFilter`: keep a pair only when its positive ranks within the top `top_k`
  documents of the whole corpus for its query (Promptagator, arXiv 2209.11755; KaLM-
  Embedding). Stronger than a fixed threshold: it asks whether retrieval would succeed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.gates.base import GateContext, Verdict
from synthgen.config.quality import ConsistencyGateConfig, CosineGateConfig, MarginGateConfig


class CosineFilter:
    name = "cosine"

    def __init__(self, config: CosineGateConfig):
        self.fixed = config.fixed_score  # None: calibrated, from the context

    def thresholds(self, rows: list[dict[str, Any]], context: GateContext) -> np.ndarray:
        """Each row's threshold: the fixed one, or the calibrated one of its languages (the
        lower of the query's and the document's: a pair is judged on its harder side)."""
        if self.fixed is not None:
            return np.full(len(rows), self.fixed, dtype=np.float32)
        calibration = context.calibration
        assert calibration is not None, "a calibrated cosine gate needs the run's calibration"
        return np.array([min(calibration.threshold(r["query_language"]), calibration.threshold(r["document_language"]))
                         for r in rows], dtype=np.float32)

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        # Scores are stored as float32: compare in float32, so 0.7 passes a 0.7 threshold.
        scores = np.asarray(context.positive_scores, dtype=np.float32)
        thresholds = self.thresholds(rows, context)
        reasons = ["" if s >= t else "low_cosine" for s, t in zip(scores, thresholds)]
        return Verdict(reasons, {"positive_score": [round(float(s), 4) for s in scores],
                                 "threshold": [round(float(t), 4) for t in thresholds]})


class MarginFilter:
    name = "margin"

    def __init__(self, config: MarginGateConfig):
        self.min_margin = config.min_margin

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        margins = [float(score) - max(row["negative_scores"]) if row["negative_scores"] else float("inf")
                   for row, score in zip(rows, context.positive_scores)]
        reasons = ["" if m >= self.min_margin else "negative_above_positive" for m in margins]
        return Verdict(reasons, {"margin": [round(m, 4) if m != float("inf") else None for m in margins]})


class ConsistencyFilter:
    name = "consistency"

    def __init__(self, config: ConsistencyGateConfig):
        self.top_k = config.top_k

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        ranks = positive_ranks(rows, context)
        reasons = ["" if r < self.top_k else "positive_not_in_top_k" for r in ranks]
        return Verdict(reasons, {"positive_rank": [int(r) for r in ranks]})


def positive_ranks(rows: list[dict[str, Any]], context: GateContext) -> np.ndarray:
    """0-based rank of each row's positive among all corpus documents for its query:
    the number of documents scoring strictly higher than the positive."""
    scores = context.query_embeddings @ context.corpus_embeddings.T
    positives = np.array([context.corpus_index[r["source_id"]] for r in rows], dtype=np.int64)
    own = scores[np.arange(len(rows)), positives]
    return (scores > own[:, None]).sum(axis=1)
