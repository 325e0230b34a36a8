"""Hard-negative mining: for each query, corpus documents that look relevant but are not its positive.

A contrastive loss (InfoNCE, MultipleNegativesRankingLoss) learns most from *hard* negatives:
documents that the current embedder scores close to the query. Random documents are too easy;
the very closest ones are often *false negatives* (another valid answer, a paraphrase of the
positive), and training against them teaches the model to push away correct answers. Mining is
therefore "take the nearest documents, minus those that are suspiciously close".

`mine_negatives` does that on precomputed, L2-normalized embeddings (a dot product is the cosine),
with the knobs and semantics of sentence-transformers' `mine_hard_negatives` (v6.2.0):

1. Search: for every query, the `range_max + P` highest-scoring corpus entries, where P is the
   largest number of blocked entries of any query (its positive plus `exclude`), so that the
   blocked ones never eat into the window.
2. Filter, in this order (a candidate removed by one rule is not counted again by the next):
   the positive and `exclude[i]` (duplicates of the positive); `absolute_margin`: keep only
   `neg + m <= pos`; `relative_margin`: keep only `neg <= pos - |pos| * m`; `max_score`: keep only
   `neg <= max_score`; `min_score`: keep only `neg >= min_score`. All compared in float32.
3. Rank window: the survivors, best first, ranked 0, 1, 2...; those ranked in `[range_min,
   range_max)` are the options. So `range_min` skips the closest *surviving* candidates.
4. Sampling: "top" takes the first `num_negatives` options; "random" draws `num_negatives` of
   them (Python's `random.Random(seed)`, one draw per query, in query order: the same stream as
   sentence-transformers after `random.seed(seed)`) and returns them best first.

A query with fewer options than `num_negatives` keeps what it has; sentence-transformers' "n-tuple"
output drops such rows, `MiningResult.report` counts them and `mining_advice(report)` says which knob
to turn.

Recommended settings:

- NV-Retriever (arXiv 2407.15831) compared mining methods and found *TopK-PercPos* best: the top
  candidates whose score is below 95% of the positive's, i.e. `relative_margin=0.05` with
  `sampling_strategy="top"` (the defaults here). *TopK-MarginPos* is `absolute_margin=0.05`;
  *TopK-Abs* is `max_score=0.7`; "naive top-k skipping the first few" is `range_min`.
- Qwen3 Embedding (arXiv 2506.05176) guards its InfoNCE loss against false negatives by masking
  any candidate that scores more than 0.1 *above* the positive (or equals it): that rule is
  `absolute_margin=-0.1`. Negative margins are allowed for this reason.
- `num_negatives` of 10 or fewer; leave `range_max` unset unless you know the corpus (the default
  window is `range_min + 10 * num_negatives + P` when a margin or `max_score` is set, else
  `range_min + num_negatives + P`, as in sentence-transformers).

Search is exact: candidates rank by the float64 dot product of the float32 vectors (reported
rounded to float32), and ties go to the lower corpus index. A matrix product over chunks of queries
(memory bounded by `chunk_bytes`) pre-filters the candidates, in bfloat16 where the CPU has native
bfloat16 dot products (AVX-512 BF16, AMX: checked at run time), else in float32, with a proven
bound on its error that sets how wide the window of candidates is; the window is then re-scored
exactly (`synthgen/mining/exact_search.py`), so the negatives do not depend on the pre-filter. `use_faiss=True` uses
faiss' exact `IndexFlatIP` instead.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Iterator, Sequence

import numpy as np

from synthgen.config.quality import MiningConfig
from synthgen.mining.exact_search import exact_search, rescore

RULES = ("absolute_margin", "relative_margin", "max_score", "min_score")
_HINTS = {"range_min": "lowering range_min", "absolute_margin": "lowering absolute_margin",
          "relative_margin": "lowering relative_margin", "max_score": "raising max_score",
          "min_score": "lowering min_score"}


@dataclass
class MiningResult:
    """Negatives per query (corpus indices, best first), their scores, and what was skipped."""

    negatives: list[list[int]]
    negative_scores: list[list[float]]
    positive_scores: np.ndarray
    report: dict

    def advice(self) -> list[str]:
        """What `mining_advice` says of this result's report."""
        return mining_advice(self.report)


def mining_advice(report: dict) -> list[str]:
    """Human-readable lines, like sentence-transformers' summary: what each rule removed and,
    when some queries came up short, which knobs would find more negatives. `report` is a
    `MiningResult.report`, or several merged (a run's tasks together)."""
    config = report["config"]
    lines = []
    for rule, count in report["candidates_skipped_by_rule"].items():
        if count and rule != "positive_or_excluded":
            share = count / max(report["candidates"], 1)
            lines.append(f"Skipped {count:,} candidate negatives ({share:.2%}) due to {rule}={config[rule]}.")
    short = report["queries_with_fewer_than_num_negatives"]
    if short:
        active = [k for k in _HINTS if (config[k] > 0 if k == "range_min" else config[k] is not None)]
        hints = ["increasing range_max"] + [_HINTS[k] for k in active]
        joined = ", ".join(hints[:-1]) + " or " + hints[-1] if len(hints) > 1 else hints[0]
        lines.append(f"Could not find enough negatives for {short:,} queries "
                     f"({short / report['queries']:.2%}); consider {joined}.")
    return lines


def mine_negatives(query_embeddings: np.ndarray, corpus_embeddings: np.ndarray,
                   positive_ids: Sequence[int], config: MiningConfig,
                   exclude: Sequence[Sequence[int]] | None = None, *,
                   chunk_bytes: int = 128 << 20, prefilter: str = "auto") -> MiningResult:
    """Mine `config.num_negatives` hard negatives per query (see the module docstring).

    query_embeddings (n, d) and corpus_embeddings (N, d): L2-normalized float32 rows.
    positive_ids[i]: the corpus index of query i's positive. exclude[i]: more corpus indices that
    are never negatives of query i (duplicates or near-duplicates of its positive).
    chunk_bytes: memory for one chunk of the exact search's (queries x corpus) score matrix.
    prefilter: "auto", "bfloat16" or "float32", the precision of the exact search's first pass
    (`synthgen/mining/exact_search.py`); the negatives and their scores do not depend on it.
    """
    queries, corpus = _unit_rows(query_embeddings, "query"), _unit_rows(corpus_embeddings, "corpus")
    if queries.shape[1] != corpus.shape[1]:
        raise ValueError(f"query and corpus dimensions differ, got {queries.shape[1]} and {corpus.shape[1]}")
    positives = _corpus_ids(positive_ids, len(corpus), "positive_ids")
    if len(positives) != len(queries):
        raise ValueError(f"positive_ids needs one id per query, got {len(positives)} for {len(queries)} queries")
    blocked, max_blocked = _blocked_keys(positives, exclude, len(corpus))
    range_max = config.resolved_range_max(max_blocked)
    k = min(range_max + max_blocked, len(corpus))
    positive_scores = rescore(queries, corpus, np.arange(len(queries)), positives).astype(np.float32)
    skipped = dict.fromkeys(("positive_or_excluded", *RULES, "range_min"), 0)
    rng = random.Random(config.seed)
    negatives: list[list[int]] = []
    scores_out: list[list[float]] = []
    info: dict = {}
    if config.use_faiss:
        search = _faiss_search(queries, corpus, k)
    else:
        search = exact_search(queries, corpus, k, chunk_bytes, prefilter, info)
    for start, scores, ids in search:
        own_blocked = _chunk_slice(blocked, start, len(ids), len(corpus))
        alive = ~np.isin(_pair_keys(start, ids, len(corpus)), own_blocked)
        skipped["positive_or_excluded"] += int(alive.size - alive.sum())
        _apply_rules(scores, alive, positive_scores[start:start + len(ids), None], config, skipped)
        rank = np.cumsum(alive, axis=1) - 1
        skipped["range_min"] += int((alive & (rank < config.range_min)).sum())
        window = alive & (rank >= config.range_min) & (rank < range_max)
        _pick(ids, scores, window, config, rng, negatives, scores_out)
    counts = np.array([len(n) for n in negatives], dtype=np.int64)
    report = {"queries": len(queries), "corpus_size": len(corpus),
              "search": "faiss" if config.use_faiss else "numpy", "prefilter": info.get("prefilter"),
              "range_max": range_max,
              "candidates_per_query": k, "candidates": len(queries) * k,
              "candidates_skipped_by_rule": skipped, "negatives_found": int(counts.sum()),
              "queries_with_fewer_than_num_negatives": int((counts < config.num_negatives).sum()),
              "queries_with_no_negatives": int((counts == 0).sum()), "config": asdict(config)}
    return MiningResult(negatives, scores_out, positive_scores, report)


def _apply_rules(scores: np.ndarray, alive: np.ndarray, positive: np.ndarray, config: MiningConfig,
                 skipped: dict) -> None:
    """Clear `alive` where a rule rejects the candidate; count each rejection once, under its first
    rule. Arithmetic stays in float32, as in sentence-transformers (0.8 is not above 0.8)."""
    tests = {
        "absolute_margin": lambda m: scores + np.float32(m) > positive,
        "relative_margin": lambda m: scores > positive - np.abs(positive) * np.float32(m),
        "max_score": lambda m: scores > np.float32(m),
        "min_score": lambda m: scores < np.float32(m),
    }
    for rule in RULES:
        value = getattr(config, rule)
        if value is not None:
            rejected = alive & tests[rule](value)
            skipped[rule] += int(rejected.sum())
            alive &= ~rejected


def _pick(ids: np.ndarray, scores: np.ndarray, window: np.ndarray, config: MiningConfig, rng: random.Random,
          negatives: list[list[int]], scores_out: list[list[float]]) -> None:
    """Choose each row's negatives from its window (already best first) and append them."""
    n = config.num_negatives
    if config.sampling_strategy == "top":  # the first n options of each row, in one pass
        window = window & (np.cumsum(window, axis=1) <= n)
    counts = window.sum(axis=1)
    flat_ids, flat_scores = ids[window], scores[window]
    if config.sampling_strategy == "top" and counts.size and counts.min() == n:  # every row full: no loop
        negatives += flat_ids.reshape(-1, n).tolist()
        scores_out += flat_scores.reshape(-1, n).tolist()
        return
    counts, flat_ids, flat_scores = counts.tolist(), flat_ids.tolist(), flat_scores.tolist()
    offset = 0
    for options in counts:
        if config.sampling_strategy == "top":
            chosen = range(min(options, n))
        else:  # like sentence-transformers: draw n positions (of at least n), drop those past the options
            chosen = sorted(p for p in rng.sample(range(max(options, n)), n) if p < options)
        negatives.append([flat_ids[offset + p] for p in chosen])
        scores_out.append([flat_scores[offset + p] for p in chosen])
        offset += options


def _faiss_search(queries: np.ndarray, corpus: np.ndarray, k: int,
                  rows: int = 4096) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """As `exact_search`, with faiss' exact inner-product index (ties re-sorted by corpus index)."""
    try:
        import faiss
    except ImportError as exc:
        raise ImportError("use_faiss=True needs faiss: `pip install faiss-cpu` (or faiss-gpu)") from exc
    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(corpus)
    for start in range(0, len(queries), rows):
        scores, ids = index.search(queries[start:start + rows], k)
        order = np.lexsort((ids, -scores))
        yield start, np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1).astype(np.int64)


def _blocked_keys(positives: np.ndarray, exclude: Sequence[Sequence[int]] | None,
                  n_corpus: int) -> tuple[np.ndarray, int]:
    """Sorted keys `query * n_corpus + corpus_id` of the (query, document) pairs that are never a
    negative, and the most such documents of any one query."""
    if exclude is None:
        return np.sort(np.arange(len(positives)) * n_corpus + positives), 1
    if len(exclude) != len(positives):
        raise ValueError(f"exclude needs one list per query, got {len(exclude)} for {len(positives)} queries")
    keys, most = [], 1
    for query, (positive, extra) in enumerate(zip(positives.tolist(), exclude)):
        ids = np.unique(np.append(_corpus_ids(extra, n_corpus, "exclude"), positive))
        most = max(most, len(ids))
        keys.append(query * n_corpus + ids)
    return np.sort(np.concatenate(keys)), most


def _pair_keys(start: int, ids: np.ndarray, n_corpus: int) -> np.ndarray:
    """One int64 key per (query, document) pair: `query * n_corpus + corpus_id`."""
    return np.arange(start, start + len(ids), dtype=np.int64)[:, None] * n_corpus + ids


def _chunk_slice(keys: np.ndarray, start: int, rows: int, n_corpus: int) -> np.ndarray:
    """The sorted keys that belong to queries start .. start + rows - 1."""
    lo, hi = np.searchsorted(keys, [start * n_corpus, (start + rows) * n_corpus])
    return keys[lo:hi]


def _unit_rows(embeddings: np.ndarray, name: str) -> np.ndarray:
    """`embeddings` as a C-contiguous float32 matrix of unit rows, else a ValueError."""
    matrix = np.ascontiguousarray(embeddings, dtype=np.float32)
    if matrix.ndim != 2 or (name == "corpus" and len(matrix) == 0):
        raise ValueError(f"{name} embeddings must be a non-empty 2-D array, got shape {matrix.shape}")
    norms = np.einsum("ij,ij->i", matrix, matrix)
    if not np.all(np.abs(norms - 1) < 1e-3):
        raise ValueError(f"{name} embeddings must be finite and L2-normalized (dot product = cosine)")
    return matrix


def _corpus_ids(ids: Sequence[int], n_corpus: int, name: str) -> np.ndarray:
    array = np.asarray(ids, dtype=np.int64).reshape(-1)
    if array.size and (array.min() < 0 or array.max() >= n_corpus):
        raise ValueError(f"{name} must be corpus indices in [0, {n_corpus}), got {array.min()}..{array.max()}")
    return array


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
