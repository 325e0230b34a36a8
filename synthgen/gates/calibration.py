"""A cosine threshold calibrated to the embedder and the language, from known-good pairs.

The Qwen3 Embedding report kept synthetic pairs whose cosine exceeded 0.7 under its own
embedder. A threshold belongs to a model and a language: under all-MiniLM-L6-v2, 0.7
rejects 66% of real, human-written (query, document) pairs of Debian package
descriptions in English and 82% in German (median cosine 0.64 and 0.55; measured on
400 pairs each). So synthgen's default threshold is measured, not assumed: for each
language, the cosine at a low quantile (`calibration_quantile`, 0.1) of *known-good*
pairs under the run's own embedder.

Known-good pairs cost nothing to make: the inverse cloze task (Lee et al., 2019, "Latent
Retrieval for Weakly Supervised Open Domain Question Answering") pairs a document's
first sentence with the rest of it. On those 400 English and German package
descriptions, the 0.1 quantile of inverse-cloze cosines (0.31 and 0.30) kept 99.5% and
92% of the real pairs, and 3% and 12% of deliberately mismatched ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from synthgen.engines.base import Embedder
from synthgen.tasks.inverse_cloze import inverse_cloze_pair

MIN_PAIRS = 20  # fewer inverse-cloze pairs than this in a language: use the pooled threshold
FALLBACK_THRESHOLD = 0.3  # no pairs at all (a corpus of one-line documents)


@dataclass
class Calibration:
    """Per-language thresholds and how many known-good pairs each rests on."""

    quantile: float
    thresholds: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)
    pooled: float = FALLBACK_THRESHOLD

    def threshold(self, language: str) -> float:
        return self.thresholds.get(language, self.pooled)

    def to_dict(self) -> dict:
        return {"quantile": self.quantile, "pooled": round(self.pooled, 4), "pairs": dict(sorted(self.pairs.items())),
                "thresholds": {k: round(v, 4) for k, v in sorted(self.thresholds.items())}}


def known_good_scores(embedder: Embedder, texts: Sequence[str], languages: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """Cosines of the inverse-cloze pairs of `texts` (synthgen/tasks/inverse_cloze.py: code units
    pair a docstring's first sentence with the code), and which text each came from."""
    pairs = [(i, pair) for i, (text, language) in enumerate(zip(texts, languages))
             if not isinstance(pair := inverse_cloze_pair(text, language), str)]
    if not pairs:
        return np.zeros(0, dtype=np.float32), []
    queries = embedder.embed([first for _, (first, _) in pairs], kind="query")
    passages = embedder.embed([rest for _, (_, rest) in pairs], kind="document")
    return np.einsum("ij,ij->i", queries, passages).astype(np.float32), [i for i, _ in pairs]


def calibrate(embedder: Embedder, texts: Sequence[str], languages: Sequence[str], quantile: float) -> Calibration:
    """Thresholds per language at `quantile` of the known-good cosines of its documents;
    languages with fewer than MIN_PAIRS pairs use the pooled threshold of all of them."""
    scores, owners = known_good_scores(embedder, texts, languages)
    calibration = Calibration(quantile)
    if len(scores):
        calibration.pooled = float(np.quantile(scores, quantile))
    by_language: dict[str, list[float]] = {}
    for score, owner in zip(scores.tolist(), owners):
        by_language.setdefault(languages[owner], []).append(score)
    for language, values in by_language.items():
        calibration.pairs[language] = len(values)
        if len(values) >= MIN_PAIRS:
            calibration.thresholds[language] = float(np.quantile(values, quantile))
    return calibration


@dataclass
class ScoredPairs:
    """Cosines of (query, positive) pairs under one embedder, with each query's language."""

    name: str
    scores: np.ndarray
    languages: list[str]


def score_pairs(embedder: Embedder, name: str, queries: Sequence[str], positives: Sequence[str],
                languages: Sequence[str]) -> ScoredPairs:
    q = embedder.embed(list(queries), kind="query")
    p = embedder.embed(list(positives), kind="document")
    scores = np.einsum("ij,ij->i", q, p).astype(np.float32) if len(queries) else np.zeros(0, np.float32)
    return ScoredPairs(name, scores, list(languages))


def settings_table(calibrations: dict[float, Calibration], default_quantile: float, fixed: Sequence[float],
                   pair_sets: Sequence[ScoredPairs]) -> list[dict]:
    """For each setting of the cosine gate, the share of each set of pairs it keeps, overall
    and per language: fixed thresholds, and calibrated ones at several quantiles."""
    settings: list[tuple[str, Calibration | float]] = [(f"fixed {t:g}" + (" (qwen3-report)" if t == 0.7 else ""), t)
                                                       for t in fixed]
    settings += [(f"calibrated q={q:g}" + (" (default)" if q == default_quantile else ""), c)
                 for q, c in sorted(calibrations.items())]
    table = []
    for label, setting in settings:
        entry = {"setting": label, "kept": {}}
        for pairs in pair_sets:
            if isinstance(setting, Calibration):
                thresholds = np.array([setting.threshold(lang) for lang in pairs.languages], dtype=np.float32)
            else:
                thresholds = np.full(len(pairs.scores), setting, dtype=np.float32)
            keep = pairs.scores >= thresholds
            shares = {"all": float(keep.mean()) if len(keep) else None}
            for language in sorted(set(pairs.languages)):
                mask = np.array([lang == language for lang in pairs.languages])
                shares[language] = float(keep[mask].mean())
            entry["kept"][pairs.name] = shares
        table.append(entry)
    return table
