"""synthgen.corpus.near_dup: MinHash + LSH near-duplicate detection, verified by exact Jaccard."""

from __future__ import annotations

import functools
import itertools
import random
import unicodedata

import pytest

from synthgen.corpus.near_dup import (
    NearDupConfig,
    candidate_probability,
    find_near_duplicates,
    normalize,
    optimal_bands,
)

BASE = "how do i reset the wireless router after a long power outage"  # 12 words
WORDS = ("router battery garden mortgage passport invoice printer thermostat boiler puppy espresso blender "
         "mattress keyboard drone guitar pension wallet warranty ticket allergy yoga python docker vpn tent "
         "kayak ladder chimney scooter").split()
VERBS = "fix clean install replace repair reset update configure charge paint grow bake renew track".split()


@functools.lru_cache(maxsize=None)
def grams(text: str, n: int = 5) -> frozenset[str]:
    """The reference definition: the set of character n-grams of the normalized text."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return frozenset({norm[i : i + n] for i in range(len(norm) - n + 1)} or {norm})


def jaccard(a: str, b: str, n: int = 5) -> float:
    x, y = grams(a, n), grams(b, n)
    return len(x & y) / len(x | y)


def queries(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"how to {rng.choice(VERBS)} a {rng.choice(WORDS)} and a {rng.choice(WORDS)} "
            f"with {rng.choice(WORDS)} in {rng.randrange(1000, 9999)}" for _ in range(count)]


def with_edits(count: int, seed: int = 3) -> list[str]:
    """Unrelated queries plus small edits of some of them (word swapped, dropped, added, typo)."""
    rng = random.Random(seed)
    texts = queries(count, seed)
    for k in range(count // 4):
        words = rng.choice(texts[: count]).split()
        i = rng.randrange(len(words))
        op = k % 4
        if op == 0:
            words[i] = rng.choice(WORDS)
        elif op == 1:
            del words[i]
        elif op == 2:
            words.insert(i, "please")
        else:
            words[i] = words[i][::-1]
        texts.append(" ".join(words))
    return texts


def ids_for(texts: list[str]) -> list[str]:
    return [f"id-{k:05d}" for k in range(len(texts))]


def as_ids(result: dict[int, tuple[int, float]], ids: list[str]) -> dict[str, tuple[str, float]]:
    return {ids[d]: (ids[k], j) for d, (k, j) in result.items()}


def test_exact_duplicates_after_normalization():
    texts = [BASE, "  How do I reset the WIRELESS router after a long power outage ", "what is a heat pump"]
    result = find_near_duplicates(["b", "a", "c"], texts, NearDupConfig())
    assert result == {0: (1, 1.0)}  # "a" < "b": the second row is kept


def test_a_changed_short_word_is_found_at_the_default_threshold():
    edited = BASE.replace(" a long ", " the long ")
    assert jaccard(BASE, edited) >= 0.8
    result = find_near_duplicates(["q1", "q2"], [BASE, edited], NearDupConfig())
    assert result == {1: (0, pytest.approx(jaccard(BASE, edited)))}


@pytest.mark.parametrize("old, new", [("wireless", "wired"), ("router", "modem"), ("long", "short"),
                                      ("reset", "restart")])
def test_a_changed_word_in_a_12_word_query_is_found(old, new):
    edited = BASE.replace(old, new)
    j = jaccard(BASE, edited)
    assert 0.7 <= j < 0.9
    result = find_near_duplicates(["q1", "q2"], [BASE, edited], NearDupConfig(threshold=0.7))
    assert result == {1: (0, pytest.approx(j))}


def test_unrelated_texts_are_not_reported():
    texts: list[str] = []  # same template, random words: similar-looking, but no pair above 0.6
    for text in queries(300):
        if all(jaccard(text, other) < 0.6 for other in texts):
            texts.append(text)
    assert len(texts) > 250
    assert find_near_duplicates(ids_for(texts), texts, NearDupConfig()) == {}
    assert find_near_duplicates(ids_for(texts), texts, NearDupConfig(threshold=0.7)) == {}


def test_smallest_id_survives_the_whole_cluster():
    texts = [BASE, BASE + " please", BASE + " now please", BASE.upper(), "something else entirely here"]
    ids = ["m", "k", "z", "c", "a"]
    result = as_ids(find_near_duplicates(ids, texts, NearDupConfig(threshold=0.7)), ids)
    assert {d: k for d, (k, _) in result.items()} == {"m": "c", "k": "c", "z": "c"}


def test_threshold_is_respected_and_every_reported_jaccard_is_exact():
    texts = with_edits(300)
    ids = ids_for(texts)
    config = NearDupConfig(threshold=0.8)
    result = find_near_duplicates(ids, texts, config)
    clusters: dict[int, set[int]] = {}
    for d, (k, _) in result.items():
        clusters.setdefault(k, {k}).add(d)
    for d, (k, j) in result.items():
        assert j >= config.threshold
        # j is the exact Jaccard between d and some other member of its cluster (its best neighbour)
        assert any(j == pytest.approx(jaccard(texts[d], texts[m])) for m in clusters[k] - {d})
        assert j == pytest.approx(max(jaccard(texts[d], texts[m]) for m in clusters[k] - {d}))
    # and what is clearly a near-duplicate is found: every pair at J >= 0.9 shares a cluster
    root = {d: k for d, (k, _) in result.items()}
    for a, b in itertools.combinations(range(len(texts)), 2):
        if jaccard(texts[a], texts[b]) >= 0.9:
            assert root.get(a, a) == root.get(b, b)


def test_result_does_not_depend_on_input_order():
    texts = with_edits(400) + [BASE] * 5 + ["", " "]
    ids = ids_for(texts)
    expected = as_ids(find_near_duplicates(ids, texts, NearDupConfig()), ids)
    assert expected
    rng = random.Random(11)
    for _ in range(3):
        perm = list(range(len(texts)))
        rng.shuffle(perm)
        shuffled_ids, shuffled = [ids[p] for p in perm], [texts[p] for p in perm]
        assert as_ids(find_near_duplicates(shuffled_ids, shuffled, NearDupConfig()), shuffled_ids) == expected


def test_chunking_does_not_change_the_result():
    texts = with_edits(300)
    ids = ids_for(texts)
    assert find_near_duplicates(ids, texts, NearDupConfig(chunk_size=7)) == find_near_duplicates(
        ids, texts, NearDupConfig())


def test_deterministic_across_calls():
    texts = with_edits(200)
    ids = ids_for(texts)
    assert find_near_duplicates(ids, texts, NearDupConfig()) == find_near_duplicates(ids, texts, NearDupConfig())


def test_empty_and_very_short_strings():
    texts = ["", " ", "a", "ab", "AB", "abcd", "abcde", "abcdef", "\t\n", "x"]
    result = find_near_duplicates(ids_for(texts), texts, NearDupConfig())
    # "" == " " == "\t\n" after normalization; "ab" == "AB"; "abcde" vs "abcdef": J = 1/2
    assert result == {1: (0, 1.0), 8: (0, 1.0), 4: (3, 1.0)}
    assert find_near_duplicates([], [], NearDupConfig()) == {}
    assert find_near_duplicates(["only"], [""], NearDupConfig()) == {}


def test_short_texts_are_one_shingle_of_the_whole_text():
    texts = ["abc", "abcd", "abd", "abc"]
    assert find_near_duplicates(ids_for(texts), texts, NearDupConfig(ngram=5, threshold=0.5)) == {3: (0, 1.0)}


def test_non_ascii_text_is_normalized():
    texts = ["Ｃａｆé ｏｐｅｎｉｎｇ ｈｏｕｒｓ ｉｎ ｐａｒｉｓ", "café opening hours in PARIS", "STRASSE und Straße"]
    result = find_near_duplicates(ids_for(texts), texts, NearDupConfig())
    assert result == {1: (0, 1.0)}
    assert normalize("  Ｆｏｏ\u00a0 BAR\t") == "foo bar"


def verified_pairs(monkeypatch) -> list[int]:
    """The number of candidate pairs each call verifies (the work that could grow quadratically);
    a count, not a wall-clock time, so the tests stay deterministic (timings are in bench/)."""
    import synthgen.corpus.near_dup as near_dup
    counts: list[int] = []
    verify = near_dup._verify
    monkeypatch.setattr(near_dup, "_verify", lambda pairs, *args: counts.append(len(pairs)) or verify(pairs, *args))
    return counts


def pair_budget(n: int) -> int:
    """What bucket capping allows: each row meets at most MAX_BUCKET_NEIGHBOURS others per band."""
    from synthgen.corpus.near_dup import MAX_BUCKET_NEIGHBOURS
    return NearDupConfig().bands_rows[0] * n * MAX_BUCKET_NEIGHBOURS


def test_a_huge_bucket_is_cheap_and_still_one_cluster(monkeypatch):
    texts = [BASE] * 3000 + [BASE + f" {k}" for k in range(10)] + queries(50)  # identical rows
    ids = [f"{(k * 7919) % 100_003:06d}" for k in range(len(texts))]
    counts = verified_pairs(monkeypatch)
    result = find_near_duplicates(ids, texts, NearDupConfig())
    assert sum(counts) <= 100  # identical rows are grouped by hash, never compared pairwise
    kept = {k for k, _ in result.values()}
    assert len(kept) == 1 and ids[kept.pop()] == min(ids[: 3010])
    assert len(result) == 3009


def test_a_huge_bucket_of_distinct_variants_is_bounded_and_still_one_cluster(monkeypatch):
    texts = [f"{BASE} {k}" for k in range(1500)]  # all distinct, all in the same LSH buckets
    ids = [f"{(k * 7919) % 100_003:06d}" for k in range(len(texts))]
    counts = verified_pairs(monkeypatch)
    result = find_near_duplicates(ids, texts, NearDupConfig())
    assert sum(counts) <= min(pair_budget(len(texts)), len(texts) * (len(texts) - 1) // 4)
    assert len(result) == 1499 and {ids[k] for k, _ in result.values()} == {min(ids)}


def test_a_few_thousand_rows_verify_few_pairs(monkeypatch):
    texts = with_edits(4000)
    ids = ids_for(texts)
    counts = verified_pairs(monkeypatch)
    result = find_near_duplicates(ids, texts, NearDupConfig())
    assert sum(counts) <= 2 * len(texts)  # candidates come from shared buckets, not all pairs
    assert 300 < len(result) <= 1000  # a quarter of the rows are edits; the milder ones pass 0.8


def test_input_errors():
    with pytest.raises(ValueError, match="unique"):
        find_near_duplicates(["a", "a"], ["x", "y"], NearDupConfig())
    with pytest.raises(ValueError, match="length"):
        find_near_duplicates(["a"], ["x", "y"], NearDupConfig())


@pytest.mark.parametrize("field, value, message", [
    ("threshold", 0.0, "threshold must be a number in \\(0, 1\\], got 0.0"),
    ("threshold", 1.5, "got 1.5"),
    ("threshold", True, "got True"),
    ("ngram", 0, "ngram must be an integer >= 1, got 0"),
    ("num_perm", 2.0, "num_perm must be an integer >= 1, got 2.0"),
    ("bands", 0, "bands must be an integer >= 1, got 0"),
    ("bands", 129, "bands must be <= num_perm \\(128\\), got 129"),
    ("seed", -1, "seed must be an integer >= 0, got -1"),
    ("chunk_size", 0, "chunk_size must be an integer >= 1, got 0"),
])
def test_config_is_validated(field, value, message):
    with pytest.raises(ValueError, match=message):
        NearDupConfig(**{field: value})


def test_bands_and_rows():
    assert NearDupConfig(bands=8).bands_rows == (8, 16)
    assert NearDupConfig(bands=3, num_perm=10).bands_rows == (3, 3)
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        b, r = optimal_bands(threshold, 128)
        assert b * r <= 128
        # recall-leaning: a pair exactly at the threshold is a candidate with high probability
        assert candidate_probability(threshold, b, r) >= 0.9
        assert candidate_probability(threshold / 2, b, r) < (0.05 if threshold >= 0.7 else 0.4)
    assert NearDupConfig().bands_rows == (16, 8)


def test_dedupe_texts_drops_exact_then_near_duplicates_and_the_first_wins():
    from synthgen.corpus.near_dup import dedupe_texts
    base = "the quick brown fox jumps over the lazy dog near the river bank every single morning"
    texts = [base, "An unrelated sentence about tax law and compound interest rates in Germany today",
             base.upper() + "!", base.replace("morning", "evening"), base.replace("morning", "evening") + "."]
    dropped = dedupe_texts(texts, NearDupConfig(threshold=0.7))
    assert dropped[2][:2] == ("exact_duplicate", 0)
    assert dropped[3][:2] == ("near_duplicate", 0) and 0.7 <= dropped[3][2] < 1.0
    # an exact copy of a near duplicate points at the text that survives, not at the dropped one
    assert dropped[4][:2] == ("exact_duplicate", 0)
    assert set(dropped) == {2, 3, 4}
