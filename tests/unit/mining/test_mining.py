"""Hard-negative mining on hand-made embeddings whose cosines are known in advance.

Every document is a 2-D unit vector at a chosen cosine to the query [1, 0], so a test reads as
"the positive scores 0.8, the candidates score 0.79, 0.75, ...". Extra dimensions let several
queries share one corpus.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from synthgen.config.quality import MiningConfig
from synthgen.mining.hard_negatives import MiningResult, mine_negatives, mining_advice
from synthgen.mining import exact_search

NONE = dict(relative_margin=None)  # no filtering at all, to test one knob at a time


def at(score: float) -> list[float]:
    """A 2-D unit vector whose cosine with [1, 0] is `score`."""
    return [score, float(np.sqrt(1 - score * score))]


def mine(doc_scores: list[float], positive: int = 0, exclude=None, **config) -> MiningResult:
    """Mine for one query [1, 0] over documents with the given cosines to it."""
    corpus = np.array([at(s) for s in doc_scores], dtype=np.float32)
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    return mine_negatives(query, corpus, [positive], MiningConfig(**config), exclude)


DOCS = [0.8, 0.79, 0.77, 0.74, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3]  # doc 0 is the positive


def test_top_negatives_come_best_first_without_the_positive():
    result = mine(DOCS, **NONE)
    assert result.negatives == [[1, 2, 3]]
    assert result.negative_scores[0] == pytest.approx([0.79, 0.77, 0.74], abs=1e-6)
    assert result.positive_scores.dtype == np.float32
    assert result.positive_scores[0] == pytest.approx(0.8, abs=1e-6)


def test_positive_is_skipped_wherever_it_ranks():
    result = mine(DOCS, positive=2, **NONE)
    assert result.negatives == [[0, 1, 3]]
    assert result.report["candidates_skipped_by_rule"]["positive_or_excluded"] == 1


def test_excluded_duplicates_never_appear():
    result = mine(DOCS, exclude=[[1, 3, 1]], **NONE)
    assert result.negatives == [[2, 4, 5]]
    assert result.report["candidates_skipped_by_rule"]["positive_or_excluded"] == 3


def test_excluded_ids_widen_the_search_so_the_window_keeps_its_size():
    # Like sentence-transformers' extra positives: the search fetches range_max + (1 + excluded).
    result = mine(DOCS, exclude=[[1, 2]], relative_margin=None, range_max=3)
    assert result.report["candidates_per_query"] == 6
    assert result.negatives == [[3, 4, 5]]


def test_no_queries_give_an_empty_result():
    corpus = np.array([at(0.5), at(0.2)], dtype=np.float32)
    result = mine_negatives(np.zeros((0, 2), dtype=np.float32), corpus, [], MiningConfig())
    assert result.negatives == [] and result.positive_scores.shape == (0,)
    assert result.report["queries_with_fewer_than_num_negatives"] == 0 and result.advice() == []


def test_relative_margin_keeps_negatives_below_95_percent_of_the_positive():
    # 0.95 * 0.8 = 0.76: 0.79 and 0.77 are too close to the positive (likely false negatives).
    result = mine(DOCS, relative_margin=0.05)
    assert result.negatives == [[3, 4, 5]]
    assert result.report["candidates_skipped_by_rule"]["relative_margin"] == 2


def test_relative_margin_uses_the_magnitude_of_a_negative_positive_score():
    # positive -0.2: the bound is -0.2 - 0.2 * 0.1 = -0.22 (sentence-transformers >= 5.2), not -0.18.
    result = mine([-0.2, -0.19, -0.21, -0.23, -0.3, -0.5], relative_margin=0.1)
    assert result.negatives == [[3, 4, 5]]


def test_absolute_margin_keeps_negatives_at_least_m_below_the_positive():
    result = mine(DOCS, relative_margin=None, absolute_margin=0.08)  # bound 0.72
    assert result.negatives == [[4, 5, 6]]
    assert result.report["candidates_skipped_by_rule"]["absolute_margin"] == 3


def test_negative_absolute_margin_admits_negatives_slightly_above_the_positive():
    # Qwen3 Embedding's false-negative mask: drop candidates scoring > positive + 0.1.
    result = mine([0.6, 0.95, 0.69, 0.65, 0.5], relative_margin=None, absolute_margin=-0.1)
    assert result.negatives == [[2, 3, 4]]


def test_max_and_min_score_bound_the_candidates():
    assert mine(DOCS, relative_margin=None, max_score=0.75).negatives == [[3, 4, 5]]
    result = mine(DOCS, relative_margin=None, min_score=0.72)
    assert result.negatives == [[1, 2, 3]]
    assert mine(DOCS, relative_margin=None, max_score=0.75, min_score=0.72).negatives == [[3]]


def test_range_min_skips_the_closest_surviving_candidates():
    # The window is ranked after filtering, as in sentence-transformers: with relative_margin
    # removing 0.79 and 0.77, range_min=1 skips 0.74 (the best survivor), not 0.79.
    result = mine(DOCS, relative_margin=0.05, range_min=1, range_max=11)
    assert result.negatives == [[4, 5, 6]]
    assert result.report["candidates_skipped_by_rule"]["range_min"] == 1


def test_range_max_limits_the_candidates():
    result = mine(DOCS, relative_margin=0.05, range_max=4)  # the 5 nearest: doc 0 (positive) to doc 4
    assert result.negatives == [[3, 4]]
    assert result.report["queries_with_fewer_than_num_negatives"] == 1
    assert result.report["candidates_per_query"] == 5


def test_default_range_max_follows_sentence_transformers():
    assert MiningConfig().resolved_range_max() == 0 + 3 * 10 + 1
    assert MiningConfig(relative_margin=None, range_min=2).resolved_range_max() == 2 + 3 + 1
    assert MiningConfig(relative_margin=None, max_score=0.9).resolved_range_max(4) == 30 + 4
    assert MiningConfig(range_max=7).resolved_range_max(4) == 7


def test_ties_are_broken_by_the_lower_corpus_index():
    result = mine([0.9, 0.5, 0.7, 0.5, 0.7, 0.5], **NONE)
    assert result.negatives == [[2, 4, 1]]


def test_random_sampling_is_reproducible_and_stays_in_the_window():
    scores = [0.99] + [0.9 - i * 0.01 for i in range(40)]
    runs = {seed: mine(scores, sampling_strategy="random", seed=seed, relative_margin=0.05, range_max=30)
            for seed in range(6)}
    bound = 0.99 * 0.95
    for seed, result in runs.items():
        negatives = result.negatives[0]
        assert len(negatives) == 3 and 0 not in negatives
        assert negatives == sorted(negatives)  # docs are in descending score order: best first
        assert all(s <= bound for s in result.negative_scores[0])
        again = mine(scores, sampling_strategy="random", seed=seed, relative_margin=0.05, range_max=30)
        assert again.negatives == result.negatives
    assert len({tuple(r.negatives[0]) for r in runs.values()}) > 1


def test_random_sampling_with_too_few_options_returns_them_all():
    result = mine(DOCS, sampling_strategy="random", absolute_margin=0.25, relative_margin=None)
    assert result.negatives == [[7, 8, 9]]
    result = mine(DOCS, sampling_strategy="random", absolute_margin=0.35, relative_margin=None)
    assert result.negatives == [[8, 9]]


def test_many_queries_in_small_chunks_match_one_chunk():
    rng = np.random.default_rng(0)
    corpus = _unit(rng.standard_normal((300, 16)))
    queries = _unit(corpus[:120] + 0.5 * rng.standard_normal((120, 16)))
    config = MiningConfig(num_negatives=4)
    whole = mine_negatives(queries, corpus, np.arange(120), config)
    chunked = mine_negatives(queries, corpus, np.arange(120), config, chunk_bytes=4 * 300 * 7)
    assert chunked.negatives == whole.negatives
    assert chunked.report == whole.report
    for i, negatives in enumerate(whole.negatives):
        scores = corpus[negatives] @ queries[i]
        assert i not in negatives and list(scores) == sorted(scores, reverse=True)


def test_a_corpus_smaller_than_the_window_is_fine():
    result = mine([0.9, 0.5, 0.4], num_negatives=3, **NONE)
    assert result.negatives == [[1, 2]]
    assert result.report["candidates_per_query"] == 3


def test_report_and_advice_name_the_knobs_to_turn():
    result = mine(DOCS, relative_margin=0.05, max_score=0.7, range_min=1, range_max=4)
    skipped = result.report["candidates_skipped_by_rule"]
    assert skipped["relative_margin"] == 2 and skipped["max_score"] == 1 and skipped["range_min"] == 1
    advice = result.advice()
    assert "Skipped 2 candidate negatives (40.00%) due to relative_margin=0.05." in advice
    assert advice[-1] == ("Could not find enough negatives for 1 queries (100.00%); consider increasing "
                          "range_max, lowering range_min, lowering relative_margin or raising max_score.")
    assert mine(DOCS).advice() == ["Skipped 2 candidate negatives (20.00%) due to relative_margin=0.05."]
    assert mining_advice(result.report) == advice  # from the report alone, as finalize computes it


def test_inputs_are_checked():
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    corpus = np.array([at(0.5), at(0.2)], dtype=np.float32)
    with pytest.raises(ValueError, match="L2-normalized"):
        mine_negatives(query * 2, corpus, [0], MiningConfig())
    with pytest.raises(ValueError, match=r"positive_ids must be corpus indices in \[0, 2\)"):
        mine_negatives(query, corpus, [2], MiningConfig())
    with pytest.raises(ValueError, match="one id per query"):
        mine_negatives(query, corpus, [0, 1], MiningConfig())
    with pytest.raises(ValueError, match="exclude needs one list per query"):
        mine_negatives(query, corpus, [0], MiningConfig(), exclude=[])


def test_use_faiss_without_faiss_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        mine(DOCS, use_faiss=True)


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss-cpu is not installed")
@pytest.mark.parametrize("config", [dict(), dict(range_min=2, range_max=15, max_score=0.6),
                                    dict(sampling_strategy="random", seed=3, absolute_margin=0.05)])
def test_faiss_finds_the_same_negatives_as_exact_search(config):
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((8, 32))
    corpus = _unit(centers[rng.integers(0, 8, 400)] + 0.7 * rng.standard_normal((400, 32)))
    queries = _unit(corpus[:150] + 0.4 * rng.standard_normal((150, 32)))
    exclude = [[(i + 1) % 400] for i in range(150)]
    exact = mine_negatives(queries, corpus, np.arange(150), MiningConfig(**config), exclude)
    faiss = mine_negatives(queries, corpus, np.arange(150), MiningConfig(**config, use_faiss=True), exclude)
    assert faiss.negatives == exact.negatives
    np.testing.assert_allclose(_flat(faiss.negative_scores), _flat(exact.negative_scores), atol=1e-5)
    assert faiss.report["candidates_skipped_by_rule"] == exact.report["candidates_skipped_by_rule"]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _flat(rows: list[list[float]]) -> list[float]:
    return [s for row in rows for s in row]


# ------------------------------------------------------------------ the bfloat16 pre-filter

def _clustered(n_docs: int = 3000, n_queries: int = 300, dim: int = 48, seed: int = 7):
    """Clustered unit vectors with the hard cases of a pre-filter: exact duplicates (ties broken by
    index), near-duplicates closer than bfloat16 can tell apart, queries far from everything
    (negative best scores)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((30, dim))
    docs = centres[rng.integers(0, 30, n_docs)] + 0.6 * rng.standard_normal((n_docs, dim))
    if n_docs >= 300:
        docs[100:140] = docs[5]
        docs[200:260] = docs[6] + 1e-5 * rng.standard_normal((60, dim))
    docs = _unit(docs)
    queries = _unit(docs[rng.integers(0, n_docs, n_queries)] + 0.3 * rng.standard_normal((n_queries, dim)))
    queries[:3] = _unit(-docs[:3].sum(axis=0, keepdims=True).repeat(3, axis=0) + 0.1 * rng.standard_normal((3, dim)))
    queries[3:6] = _unit(docs[[5, 6, 6]] + 1e-4 * rng.standard_normal((3, dim)))  # into the ties
    return queries, docs


def _brute_force(queries: np.ndarray, docs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best by float64 score, then by index, scores rounded to float32: the definition."""
    scores = np.einsum("qd,nd->qn", queries.astype(np.float64), docs.astype(np.float64))
    order = np.array([np.lexsort((np.arange(len(docs)), -row))[:k] for row in scores])
    return np.take_along_axis(scores, order, axis=1).astype(np.float32), order


def _search(queries, docs, k, prefilter, chunk_bytes=1 << 20):
    info: dict = {}
    parts = list(exact_search.exact_search(queries, docs, k, chunk_bytes, prefilter, info))
    return np.vstack([p[1] for p in parts]), np.vstack([p[2] for p in parts]), info["prefilter"]


@pytest.mark.parametrize("k", [1, 7, 32, 300])
@pytest.mark.parametrize("prefilter", ["bfloat16", "float32"])
def test_prefiltered_search_finds_exactly_the_k_best(prefilter, k):
    queries, docs = _clustered()
    scores, ids, used = _search(queries, docs, k, prefilter)
    expected_scores, expected_ids = _brute_force(queries, docs, k)
    assert used == prefilter
    assert np.array_equal(ids, expected_ids)
    assert np.array_equal(scores, expected_scores)
    assert list(ids[3][:5]) == [5, 100, 101, 102, 103][:k]  # a tie of duplicates, by index


@pytest.mark.parametrize("n_docs, k", [(40, 40), (1024, 32), (2049, 64)])
def test_bfloat16_search_on_corpora_of_any_size(n_docs, k):
    """Fewer documents than groups, a multiple of them, one past a multiple (a padded last tile)."""
    queries, docs = _clustered(n_docs=n_docs, n_queries=70)
    scores, ids, _ = _search(queries, docs, k, "bfloat16", chunk_bytes=2 * n_docs * 25)
    expected_scores, expected_ids = _brute_force(queries, docs, k)
    assert np.array_equal(ids, expected_ids) and np.array_equal(scores, expected_scores)


@pytest.mark.parametrize("config", [dict(), dict(num_negatives=5, range_min=2, absolute_margin=0.02),
                                    dict(sampling_strategy="random", seed=4, max_score=0.8)])
def test_mining_is_the_same_whatever_the_prefilter(config):
    queries, docs = _clustered()
    exclude = [[(i * 7) % len(docs)] for i in range(len(queries))]
    runs = {p: mine_negatives(queries, docs, np.arange(len(queries)) * 9, MiningConfig(**config), exclude,
                              prefilter=p) for p in ("bfloat16", "float32")}
    bf16, f32 = runs["bfloat16"], runs["float32"]
    assert bf16.negatives == f32.negatives and bf16.negative_scores == f32.negative_scores
    assert np.array_equal(bf16.positive_scores, f32.positive_scores)
    assert {**bf16.report, "prefilter": None} == {**f32.report, "prefilter": None}
    assert (bf16.report["prefilter"], f32.report["prefilter"]) == ("bfloat16", "float32")


def test_a_bound_that_fails_its_check_falls_back_to_float32(monkeypatch):
    queries, docs = _clustered(n_queries=100)
    expected_scores, expected_ids = _brute_force(queries, docs, 32)
    score = exact_search._BFloat16Prefilter.score

    def too_tight(self, *args):  # a bound that lies: smaller than the bfloat16 error
        scores, margin = score(self, *args)
        return scores, margin * 1e-3

    monkeypatch.setattr(exact_search._BFloat16Prefilter, "score", too_tight)
    for block_check in (True, False):  # caught on the first block, or on the candidates
        if not block_check:
            monkeypatch.setattr(exact_search, "_bound_holds_on_a_block", lambda *args: True)
        scores, ids, used = _search(queries, docs, 32, "bfloat16")
        assert used == "float32 (the bfloat16 error bound failed its check)"
        assert np.array_equal(ids, expected_ids) and np.array_equal(scores, expected_scores)


def test_prefilter_choice():
    queries, docs = _clustered(n_queries=20)
    assert mine_negatives(queries, docs, np.arange(20), MiningConfig()).report["prefilter"] == "float32"  # small
    with pytest.raises(ValueError, match="prefilter must be one of auto, bfloat16, float32"):
        mine_negatives(queries, docs, np.arange(20), MiningConfig(), prefilter="int8")
    assert isinstance(exact_search.native_bfloat16(), bool)


def test_auto_prefilter_takes_bfloat16_where_the_cpu_has_it(monkeypatch):
    import torch  # noqa: F401  (loaded, as synthgen's embedders load it)

    queries, docs = _clustered(n_queries=20)
    monkeypatch.setattr(exact_search, "_AUTO_BF16_PAIRS", 1)
    result = mine_negatives(queries, docs, np.arange(20), MiningConfig())
    assert result.report["prefilter"] == ("bfloat16" if exact_search.native_bfloat16() else "float32")


@pytest.mark.parametrize("prefilter", ["bfloat16", "float32"])
def test_scores_that_differ_by_less_than_a_bfloat16_step_are_ranked_exactly(prefilter):
    """Documents all but orthogonal to the query, their scores 1e-10 apart, and some tied."""
    cosines = np.concatenate([np.arange(1, 1200) * 1e-10, [2e-7, 2e-7, -3e-8]])
    docs = _unit(np.stack([cosines, np.sqrt(1 - cosines ** 2), np.zeros_like(cosines)], axis=1))
    queries = np.array([[1.0, 0.0, 0.0], [0.6, 0.0, 0.8]], dtype=np.float32)
    scores, ids, _ = _search(queries, docs, 40, prefilter)
    expected_scores, expected_ids = _brute_force(queries, docs, 40)
    assert np.array_equal(ids, expected_ids) and np.array_equal(scores, expected_scores)
    assert list(ids[0][:4]) == [1199, 1200, 1198, 1197]
