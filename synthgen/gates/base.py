"""What a quality gate is: it looks at a batch of rows and says, per row, keep or why not.

Gates are small and batch-first (datatrove's filters, with a reason per excluded row). The
runner (`synthgen/run/finalize.py`) counts the reasons, writes each dropped row with its reason
and scores to `rejects/gates.jsonl`, and passes the survivors on. Per-row scores a gate
computes (a leakage ratio, a cosine) travel with the verdict so the rejects can show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass
class GateContext:
    """What gates may need beyond the rows: embeddings of the batch and of the corpus.

    `query_embeddings[i]` belongs to `rows[i]`; `positive_scores[i]` is the cosine of row i's
    query and its positive; `corpus_embeddings` rows follow `corpus_ids`; `embedder` is the
    recipe's (a gate that judges with "embedder" embeds with it).
    """

    query_embeddings: np.ndarray | None = None
    positive_scores: np.ndarray | None = None
    corpus_embeddings: np.ndarray | None = None
    corpus_ids: list[str] = field(default_factory=list)
    corpus_index: dict[str, int] = field(default_factory=dict)
    calibration: Any = None  # synthgen.gates.calibration.Calibration, when a gate is calibrated
    embedder: Any = None


@dataclass
class Verdict:
    """Per row: "" keeps it, anything else is the reason it is dropped; plus its scores."""

    reasons: list[str]
    scores: dict[str, list[Any]] = field(default_factory=dict)

    def scores_of(self, i: int) -> dict[str, Any]:
        return {name: values[i] for name, values in self.scores.items()}


class Gate(Protocol):
    name: str

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        ...
