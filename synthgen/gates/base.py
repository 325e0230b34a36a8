"""What a quality gate is: it looks at a batch of rows and says, per row, keep or why not.

Gates are small and batch-first (datatrove's filters, with a reason per excluded row). The
runner (`synthgen/run/finalize.py`) counts the reasons, writes each dropped row with its reason
and scores to `rejects/gates.jsonl`, and passes the survivors on. Per-row scores a gate
computes (a leakage ratio, a cosine) travel with the verdict so the rejects can show them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

_PUNCTUATION = re.compile(r"[^\w\s]|_", re.UNICODE)
_ENUMERATION = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
# What _PUNCTUATION matches among ASCII characters, for str.translate (8x faster than the regex).
_ASCII_PUNCTUATION = {c: " " for c in range(128) if _PUNCTUATION.match(chr(c))}


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


def normalize_text(text: str) -> str:
    """The comparison form of a text: Unicode NFKC, casefolded, punctuation and underscores
    as spaces, whitespace collapsed. "Compound_Interest?", "compound-interest" and
    "compound interest" compare equal, as people would call them duplicates."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return " ".join(text.translate(_ASCII_PUNCTUATION).split())
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def clean_list_item(text: object) -> str:
    """A generated list item as one line, without numbering or bullet ("2. Classify x" -> "Classify x")."""
    return _ENUMERATION.sub("", " ".join(str(text).split()))
