"""How diverse the kept queries are, in figures a reader can compare between runs.

Computed in the finalize pass over the final rows (the manifest's `diversity`), drawn by
the report and stated in the dataset card:

- `distinct_1`, `distinct_2`: distinct word unigrams (bigrams) over all unigrams (bigrams)
  of the queries (Li et al. 2016, arXiv 1510.03055), words of `normalize_text`; higher is
  more varied wording. Overall and per query language, on the sample below: distinct-n
  falls as a text collection grows, so a fixed-size sample keeps runs of any size
  comparable and the memory bounded.
- `mean_pairwise_cosine`: the mean cosine over all pairs of distinct queries under the
  recipe's embedder; lower is more diverse. Exact, from the sum of the unit vectors:
  mean over i != j of v_i . v_j = (|sum v|^2 - sum |v_i|^2) / (n (n - 1)). Overall and per
  query language.
- `nearest_neighbour_duplicate_rate`: the share of queries whose nearest other query has
  cosine >= `NN_DUPLICATE_COSINE` (0.95: a paraphrase, not a new question), among a sample
  of at most `SAMPLE` (5,000) queries (the rows with the smallest id hashes, so the same
  sample for any row order); `nearest_neighbour_mean_cosine` beside it.
- `query_types`, `personas`: coverage of the library (the question types of the retrieval
  stage, `synthgen.tasks.retrieval.QUESTION_TYPES`; the recipe's persona libraries): the
  share of it that rows use, and the entropy of their distribution in bits, and normalized
  by log2 of the library size (1.0: every entry used equally often).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

from synthgen.corpus.text import normalize_text
from synthgen.tasks.retrieval import QUESTION_TYPES

NN_DUPLICATE_COSINE = 0.95
SAMPLE = 5_000


class _Sums:
    """Exact sums for the mean pairwise cosine of one set of queries."""

    def __init__(self) -> None:
        self.n = 0
        self.vector: np.ndarray | None = None
        self.norms = 0.0

    def add(self, vectors: np.ndarray | None, count: int) -> None:
        self.n += count
        if vectors is not None and len(vectors):
            v = vectors.astype(np.float64)
            total = v.sum(axis=0)
            self.vector = total if self.vector is None else self.vector + total
            self.norms += float((v * v).sum())

    def cosine(self) -> float | None:
        pairs = self.n * (self.n - 1)
        if self.vector is None or not pairs:
            return None
        return round((float(self.vector @ self.vector) - self.norms) / pairs, 4)


def _distinct(queries: list[list[str]]) -> dict[str, float | None]:
    unigrams = [w for words in queries for w in words]
    bigrams = [pair for words in queries for pair in zip(words, words[1:])]
    return {"distinct_1": round(len(set(unigrams)) / len(unigrams), 4) if unigrams else None,
            "distinct_2": round(len(set(bigrams)) / len(bigrams), 4) if bigrams else None}


def _entropy(counts: Counter, library: int | None) -> dict[str, Any]:
    total = sum(counts.values())
    bits = -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0
    return {"library": library, "used": len(counts),
            "coverage": round(len(counts) / library, 4) if library else None,
            "entropy_bits": round(bits, 4),
            "normalized_entropy": round(bits / math.log2(library), 4) if library and library > 1 else None,
            "counts": dict(counts.most_common(50))}


class DiversityStats:
    """Collects the final rows (and their query vectors) of a finalize pass."""

    def __init__(self, personas: Sequence[str] | None = None):
        self.overall = _Sums()
        self.by_language: dict[str, _Sums] = {}
        self.persona_library = {normalize_text(p) for p in personas} if personas is not None else None
        self.query_types: Counter = Counter()
        self.personas: Counter = Counter()
        self.sample: list[tuple[int, str, str, np.ndarray | None]] = []  # (rank, language, query, vector)

    def add(self, rows: list[dict[str, Any]], vectors: np.ndarray | None) -> None:
        if vectors is not None and len(vectors) != len(rows):
            vectors = None
        languages = [row.get("query_language") or "" for row in rows]
        self.overall.add(vectors, len(rows))
        for language in set(languages):
            mask = np.array([lang == language for lang in languages], dtype=bool)
            self.by_language.setdefault(language, _Sums()).add(None if vectors is None else vectors[mask],
                                                               int(mask.sum()))
        for i, row in enumerate(rows):
            if row.get("task") == "retrieval" and row.get("query_type"):
                self.query_types[row["query_type"]] += 1
            if row.get("persona"):
                self.personas[normalize_text(row["persona"])] += 1
            rank = int.from_bytes(hashlib.blake2b(row["id"].encode(), digest_size=8).digest(), "big")
            self.sample.append((rank, languages[i], row.get("query") or "", None if vectors is None else vectors[i]))
        if len(self.sample) > 2 * SAMPLE:
            self._trim()

    def _trim(self) -> None:
        """Keep the `SAMPLE` smallest ranks. A kept vector is copied out of its part's
        array (a row of it is a view that would keep the whole part's vectors alive:
        750 MiB at 1M rows before this copy)."""
        kept = sorted(self.sample, key=lambda item: item[0])[:SAMPLE]
        self.sample = [(rank, language, query, vector if vector is None or vector.base is None else vector.copy())
                       for rank, language, query, vector in kept]

    def result(self) -> dict[str, Any]:
        self._trim()
        words = [(language, normalize_text(query).split()) for _, language, query, _ in self.sample]
        out: dict[str, Any] = {"queries": self.overall.n, **_distinct([w for _, w in words]),
                               "mean_pairwise_cosine": self.overall.cosine(), "sample": len(self.sample)}
        out["by_language"] = {language: {"queries": sums.n,
                                         **_distinct([w for lang, w in words if lang == language]),
                                         "mean_pairwise_cosine": sums.cosine()}
                              for language, sums in sorted(self.by_language.items())}
        out["nearest_neighbour_duplicate_rate"], out["nearest_neighbour_mean_cosine"] = self._nearest()
        out["nearest_neighbour_sample"] = sum(v is not None for *_, v in self.sample)
        out["nearest_neighbour_duplicate_cosine"] = NN_DUPLICATE_COSINE
        out["query_types"] = _entropy(self.query_types, len(QUESTION_TYPES))
        library = len(self.persona_library) if self.persona_library is not None else None
        used = Counter({p: c for p, c in self.personas.items()
                        if self.persona_library is None or p in self.persona_library})
        out["personas"] = _entropy(used, library)
        out["personas"]["counts"] = {}  # persona texts are long: the manifest keeps the figures only
        return out

    def _nearest(self) -> tuple[float | None, float | None]:
        found = [v for *_, v in self.sample if v is not None]
        if len(found) < 2:
            return None, None
        vectors = np.stack(found).astype(np.float32)
        best = np.full(len(vectors), -np.inf, dtype=np.float32)
        for start in range(0, len(vectors), 1024):
            scores = vectors[start:start + 1024] @ vectors.T
            np.fill_diagonal(scores[:, start:start + 1024], -np.inf)
            best[start:start + 1024] = scores.max(axis=1)
        return round(float((best >= NN_DUPLICATE_COSINE).mean()), 4), round(float(best.mean()), 4)
