"""Near-duplicate queries: MinHash + LSH over character n-grams, verified by exact Jaccard.

Why: synthetic data repeats itself. An LLM asked for a million queries writes many of them
again with a word changed; near-copies waste the training budget, over-weight what they repeat
and leak between splits. The Qwen3 Embedding report (arXiv 2506.05176) trains on some 150M
LLM-synthesized pairs and fine-tunes only on a filtered, higher-quality subset: at that scale
filtering is part of the recipe, and removing near-duplicates is its cheapest step.
datatrove and datasketch apply MinHash + LSH to web text; this module is that recipe for short
queries, vectorized with numpy.

What is compared. A text becomes the *set* of its character n-grams (``ngram`` = 5 by
default) after normalization (NFKC, casefold, runs of whitespace collapsed to one space).
Two texts are near-duplicates when the Jaccard similarity of their sets,
``|A & B| / |A | B|``, is at least ``threshold``. A text shorter than ``ngram`` is a single
shingle: the whole text (so all empty texts are duplicates of each other).

MinHash (Broder 1997, "On the resemblance and containment of documents"). Hash every n-gram
to 32 bits (a polynomial over its code points, then murmur3's finalizer), then apply
``num_perm`` random hash functions h_k(x) = a_k * x + b_k (mod 2**32, a odd: the multiply-add
family, a fast cousin of datasketch's ``mod (2**61 - 1)`` that behaves alike on well-mixed
inputs) and keep, per function, the minimum over the set. For one function,
P[min over A == min over B] = Jaccard(A, B), so the ``num_perm`` minima form a signature whose
agreement rate estimates the similarity. All of it is numpy array arithmetic on whole chunks:
no Python call per n-gram.

LSH (banding). Cut the signature into ``bands`` bands of ``rows`` values each and hash each
band. Two texts become *candidates* when any band hash agrees. For similarity s this happens
with probability ``1 - (1 - s**rows)**bands``: an S-curve that is ~0 well below the threshold
and ~1 well above. Candidates are bucketed by sorting band hashes (no all-pairs comparison),
then every candidate pair is *verified* with the exact Jaccard of the two n-gram hash sets, so
nothing below ``threshold`` is ever reported; LSH only decides what gets checked.

Choosing bands x rows. Like datasketch's ``_optimal_param``, ``optimal_bands`` minimizes the
weighted area of false positives (integral of the S-curve below the threshold) plus false
negatives (the area above it missed). Because candidates are verified, a false positive only
costs one comparison while a false negative is lost for good, so misses weigh 19 times more
(``FALSE_NEGATIVE_WEIGHT``): at threshold 0.8 and 128 permutations this gives 16 x 8 (a pair at
exactly s = 0.8 is caught with p = 0.95) where datasketch's 9 x 13 catches it with p = 0.40.

Clusters. Verified pairs are joined transitively (connected components, i.e. union-find);
in each cluster the row with the smallest ``id`` is kept and the others are dropped. Every
computation depends on texts and ids only, never on input positions, so the result is the same
for any input order. Rows whose normalized texts are identical (equal 64-bit string hashes) are
grouped up front with Jaccard 1.0, so mass duplicates cost nothing. A bucket can hold many
rows; each row is compared only with the ``MAX_BUCKET_NEIGHBOURS`` members just before it in
id order, which keeps a bucket of m rows at O(m) pairs yet still chains all of them together.

Knobs (``NearDupConfig``): ``threshold`` (the verified Jaccard bar; one changed word in a
12-word query typically leaves 0.73-0.86 with 5-grams), ``ngram`` (longer n-grams make an edit
cost more similarity; short ones make unrelated texts share more), ``num_perm`` (more
permutations sharpen the S-curve; time grows linearly), ``bands`` (None = optimal;
rows = num_perm // bands), ``seed`` (picks the hash functions), ``chunk_size`` (rows hashed
at once, capped at 65,536, and about 64 x chunk_size n-grams per verification batch; with the
8 x bands bytes per row of band hashes this bounds memory: N x num_perm is never held).

References: A. Broder, 1997; J. Leskovec, A. Rajaraman, J. Ullman, *Mining of Massive Datasets*,
ch. 3; datasketch (``MinHashLSH``); datatrove (``MinhashDedup*``); Qwen3 Embedding, arXiv
2506.05176.
"""

from __future__ import annotations

import functools
import itertools
import operator
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synthgen.corpus.text import normalize_text

FALSE_POSITIVE_WEIGHT = 0.05
FALSE_NEGATIVE_WEIGHT = 0.95
MAX_BUCKET_NEIGHBOURS = 32
_BLOCK_TEXTS = 8192  # texts per MinHash block: long SIMD rows, (perms x texts) arrays in cache
_HASH_STEP = 65_536  # rows hashed per chunk (at most chunk_size)
_SHINGLE_STEP = 16_384  # rows per n-gram hashing pass: its uint64 temporaries stay small
_U64 = np.uint64
_MIX1, _MIX2 = _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53)
_POLY = _U64(0x100000001B3)


@dataclass(frozen=True)
class NearDupConfig:
    """How near is a duplicate, and how hard to look (see the module docstring)."""

    threshold: float = 0.8
    ngram: int = 5
    num_perm: int = 128
    bands: int | None = None
    seed: int = 1
    chunk_size: int = 50_000

    def __post_init__(self) -> None:
        def whole(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 < t <= 1.0:
            raise ValueError(f"threshold must be a number in (0, 1], got {t!r}")
        for name, low in (("ngram", 1), ("num_perm", 1), ("seed", 0), ("chunk_size", 1)):
            whole(name, low)
        if self.bands is not None:
            whole("bands", 1)
            if self.bands > self.num_perm:
                raise ValueError(f"bands must be <= num_perm ({self.num_perm}), got {self.bands!r}")

    @property
    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows per band): explicit bands, or the optimum for threshold and num_perm."""
        if self.bands is not None:
            return self.bands, self.num_perm // self.bands
        return optimal_bands(float(self.threshold), self.num_perm)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """P[two texts of Jaccard `similarity` share at least one band] = 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@functools.lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimizing weighted FP + FN areas.

    The areas are integrals of the S-curve over [0, threshold] and of its complement over
    [threshold, 1] (midpoint rule, 1024 points each), as in datasketch's ``_optimal_param``.
    """
    grid = (np.arange(1024) + 0.5) / 1024
    below, above = grid * threshold, threshold + grid * (1.0 - threshold)
    best, best_error = (1, num_perm), np.inf
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.mean(1.0 - (1.0 - below**r) ** b) * threshold
            fn = np.mean((1.0 - above**r) ** b) * (1.0 - threshold)
            error = FALSE_POSITIVE_WEIGHT * fp + FALSE_NEGATIVE_WEIGHT * fn
            if error < best_error:
                best, best_error = (b, r), error
    return best


def normalize(text: str) -> str:
    """NFKC, casefold, whitespace runs collapsed to one space and stripped."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _mix(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finalizer, in place: every input bit reaches every output bit."""
    h ^= h >> _U64(33)
    h *= _MIX1
    h ^= h >> _U64(33)
    h *= _MIX2
    h ^= h >> _U64(33)
    return h


def _shingles(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per normalized text: its n-gram hashes (uint32, concatenated) and their counts.

    A window hash is a polynomial over n code points (uint64, wrapping) then mixed; texts
    shorter than n are hashed whole (zero-padded, length mixed in) as their single shingle.
    """
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32).astype(_U64)
    padded = np.concatenate([points, np.zeros(n, _U64)])
    windows = padded[: len(points) + 1].copy()  # one spare window: an empty last text
    for k in range(1, n):
        windows *= _POLY
        windows += padded[k : k + len(windows)]
    starts = np.cumsum(lengths) - lengths
    counts = np.maximum(lengths - n + 1, 1)
    first = np.cumsum(counts) - counts
    where = np.repeat(starts - first, counts) + np.arange(int(counts.sum()))
    hashes = windows[where]
    short = np.flatnonzero(lengths < n)
    if short.size:
        cols = np.arange(n)
        idx = starts[short, None] + cols
        chars = np.where(cols < lengths[short, None], padded[np.minimum(idx, len(points))], _U64(0))
        whole = (chars * (_POLY ** np.arange(n - 1, -1, -1, dtype=_U64))).sum(axis=1, dtype=_U64)
        hashes[first[short]] = whole + lengths[short].astype(_U64) * _MIX2
    return (_mix(hashes) >> _U64(32)).astype(np.uint32), counts


def _signatures(hashes: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures (texts x perms, uint32): min over each text's n-grams of a*x+b.

    Texts are taken in blocks of up to _BLOCK_TEXTS with similar n-gram counts (within 20%),
    each padded to the block's longest by repeating its own last n-gram (a repeat cannot change
    a minimum). Then one pass per n-gram position: a (perms x texts) array of a*x+b folded into
    a running minimum; long contiguous rows keep numpy's SIMD loops busy and the two arrays
    stay in cache.
    """
    perms = len(a)
    out = np.empty((len(counts), perms), np.uint32)
    first = np.cumsum(counts) - counts
    order = np.argsort(counts, kind="stable")
    ascending = counts[order]
    a, b = a[:, None], b[:, None]
    start = 0
    while start < len(order):
        end = int(np.searchsorted(ascending, ascending[start] * 1.2, side="right"))
        end = max(start + 1, min(end, start + _BLOCK_TEXTS))
        rows, width = order[start:end], int(ascending[end - 1])
        grams = hashes[first[rows] + np.minimum(np.arange(width)[:, None], counts[rows] - 1)]
        low, value = np.empty((perms, len(rows)), np.uint32), np.empty((perms, len(rows)), np.uint32)
        np.multiply(a, grams[0], out=low)
        np.add(low, b, out=low)
        for position in range(1, width):
            np.multiply(a, grams[position], out=value)
            np.add(value, b, out=value)
            np.minimum(low, value, out=low)
        out[rows] = low.T
        start = end
    return out


def _band_hashes(signatures: np.ndarray, bands: int, rows: int, weights: np.ndarray) -> np.ndarray:
    """One uint64 per (text, band): a random linear combination of the band's rows, mixed."""
    banded = signatures[:, : bands * rows].reshape(len(signatures), bands, rows)
    combined = np.zeros((len(signatures), bands), _U64)
    for row in range(rows):
        combined += banded[:, :, row].astype(_U64) * weights[row]
    return _mix(combined)


def _lsh(ids: Sequence[str], texts: Sequence[str], config: NearDupConfig):
    """Hash every text in chunks; returns id ranks, text hashes and band hashes in rank order."""
    ranked = sorted(range(len(ids)), key=ids.__getitem__)
    in_order = [ids[i] for i in ranked]
    if any(map(operator.eq, in_order, itertools.islice(in_order, 1, None))):
        raise ValueError("ids must be unique")
    order = np.array(ranked, dtype=np.int64)
    bands, rows = config.bands_rows
    rng = np.random.default_rng(config.seed)
    a = (rng.integers(0, 1 << 32, bands * rows, dtype=_U64) | _U64(1)).astype(np.uint32)
    b = rng.integers(0, 1 << 32, bands * rows, dtype=_U64).astype(np.uint32)
    weights = rng.integers(0, 1 << 63, rows, dtype=_U64) * _U64(2) + _U64(1)
    band_hash = np.empty((len(ids), bands), _U64)
    text_hash = np.empty(len(ids), np.int64)
    step = min(config.chunk_size, _HASH_STEP)
    for lo in range(0, len(ids), step):
        chunk = order[lo : lo + step]
        normalized = [normalize(texts[i]) for i in chunk.tolist()]
        text_hash[lo : lo + len(chunk)] = np.fromiter(map(hash, normalized), np.int64, len(chunk))
        parts = [_shingles(normalized[k : k + _SHINGLE_STEP], config.ngram)
                 for k in range(0, len(normalized), _SHINGLE_STEP)]
        hashes, counts = (np.concatenate(column) for column in zip(*parts))
        signatures = _signatures(hashes, counts, a, b)
        band_hash[lo : lo + len(chunk)] = _band_hashes(signatures, bands, rows, weights)
    return order, text_hash, band_hash


def _exact_groups(text_hash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first rank, rank) joining each repeated normalized text to its first occurrence."""
    order = np.argsort(text_hash, kind="stable")
    sorted_hash = text_hash[order]
    new = np.ones(len(order), bool)
    new[1:] = sorted_hash[1:] != sorted_hash[:-1]
    head = order[np.flatnonzero(new)][np.cumsum(new) - 1]
    repeat = ~new
    return head[repeat], order[repeat]


def _candidates(band_hash: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Unique candidate pairs (rank << 32 | rank, lower rank first) sharing a band bucket."""
    ranks = np.flatnonzero(alive).astype(_U64)
    bits = max(1, int(len(band_hash) - 1).bit_length())
    low = _U64((1 << bits) - 1)
    found = []
    for band in range(band_hash.shape[1]):
        keys = np.sort((band_hash[ranks, band] & ~low) | ranks)
        bucket = keys >> _U64(bits)
        shared = np.zeros(len(keys), bool)
        shared[1:] = bucket[1:] == bucket[:-1]
        shared[:-1] |= shared[1:].copy()
        keys, bucket = keys[shared], bucket[shared]
        for gap in range(1, MAX_BUCKET_NEIGHBOURS + 1):
            same = bucket[gap:] == bucket[:-gap]
            if not same.any():
                break
            found.append(((keys[:-gap][same] & low) << _U64(32)) | (keys[gap:][same] & low))
    return _unique(np.concatenate(found)) if found else np.zeros(0, _U64)


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique, minus its slow hash-table path for integers)."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if values.size else values


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + l) for every (s, l), without a Python loop."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def _shingle_sets(rows: np.ndarray, order: np.ndarray, texts: Sequence[str], config: NearDupConfig):
    """Sorted distinct n-gram hashes of each rank in `rows`: (values, starts, sizes)."""
    values, sizes = [], []
    step = min(config.chunk_size, _SHINGLE_STEP)
    for lo in range(0, len(rows), step):
        chunk = rows[lo : lo + step]
        hashes, counts = _shingles([normalize(texts[i]) for i in order[chunk].tolist()], config.ngram)
        owner = np.repeat(np.arange(len(chunk), dtype=_U64), counts)
        keys = _unique((owner << _U64(32)) | hashes)
        values.append((keys & _U64(0xFFFFFFFF)).astype(np.uint32))
        sizes.append(np.bincount((keys >> _U64(32)).astype(np.int64), minlength=len(chunk)))
    sizes = np.concatenate(sizes)
    return np.concatenate(values), np.cumsum(sizes) - sizes, sizes


def _verify(pairs: np.ndarray, order: np.ndarray, texts: Sequence[str], config: NearDupConfig):
    """Exact Jaccard of candidate pairs; returns (rank i, rank j, jaccard) of pairs >= threshold."""
    left, right = (pairs >> _U64(32)).astype(np.int64), (pairs & _U64(0xFFFFFFFF)).astype(np.int64)
    if not len(pairs):
        return left, right, np.zeros(0)
    rows = _unique(np.concatenate([left, right]))
    values, starts, sizes = _shingle_sets(rows, order, texts, config)
    a, b = np.searchsorted(rows, left), np.searchsorted(rows, right)
    small, large = np.minimum(sizes[a], sizes[b]), np.maximum(sizes[a], sizes[b])
    keep = small >= config.threshold * large - 1e-9  # Jaccard <= |small| / |large|
    a, b, left, right = a[keep], b[keep], left[keep], right[keep]
    jaccard = np.zeros(len(a))
    budget = np.cumsum(sizes[a] + sizes[b]) // (config.chunk_size * 64)
    for part in np.split(np.arange(len(a)), np.flatnonzero(np.diff(budget)) + 1):
        if not part.size:
            continue
        pa, pb, tag = a[part], b[part], np.arange(len(part), dtype=_U64)
        members = np.concatenate([
            (np.repeat(tag, sizes[pa]) << _U64(32)) | values[_ranges(starts[pa], sizes[pa])],
            (np.repeat(tag, sizes[pb]) << _U64(32)) | values[_ranges(starts[pb], sizes[pb])],
        ])
        members.sort()
        twice = members[1:][members[1:] == members[:-1]] >> _U64(32)
        common = np.bincount(twice.astype(np.int64), minlength=len(part))
        jaccard[part] = common / (sizes[pa] + sizes[pb] - common)
    hit = jaccard >= config.threshold
    return left[hit], right[hit], jaccard[hit]


def _cluster(i: np.ndarray, j: np.ndarray, jaccard: np.ndarray, order: np.ndarray):
    """Connected components of the verified pairs; each row points at its component's min rank."""
    nodes = _unique(np.concatenate([i, j]))
    li, lj = np.searchsorted(nodes, i), np.searchsorted(nodes, j)
    label = np.arange(len(nodes))
    while True:  # min-label propagation with pointer jumping; labels only ever decrease
        low = np.minimum(label[li], label[lj])
        new = label.copy()
        np.minimum.at(new, li, low)
        np.minimum.at(new, lj, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    best = np.zeros(len(nodes))
    np.maximum.at(best, li, jaccard)
    np.maximum.at(best, lj, jaccard)
    dropped = np.flatnonzero(label != np.arange(len(nodes)))
    kept = order[nodes[label[dropped]]].tolist()
    return dict(zip(order[nodes[dropped]].tolist(), zip(kept, best[dropped].tolist())))


def find_near_duplicates(
    ids: Sequence[str], texts: Sequence[str], config: NearDupConfig = NearDupConfig()
) -> dict[int, tuple[int, float]]:
    """Near-duplicate rows: {dropped index: (kept index, jaccard)}.

    Verified pairs (exact Jaccard >= threshold) are clustered transitively; in each cluster the
    row with the smallest id is kept and every other row maps to it. The float is the dropped
    row's best verified Jaccard: the highest exact Jaccard between it and any row it was
    verified against (1.0 for an identical normalized text). That neighbour is in the same
    cluster but need not be the kept row, which may be reached through a chain of such pairs.
    Indices are positions in `ids`/`texts`; the mapping is the same for any input order.
    """
    if len(ids) != len(texts):
        raise ValueError(f"ids and texts differ in length: {len(ids)} != {len(texts)}")
    if not len(ids):
        return {}
    order, text_hash, band_hash = _lsh(ids, texts, config)
    head, repeat = _exact_groups(text_hash)
    alive = np.ones(len(ids), bool)
    alive[repeat] = False
    pairs = _candidates(band_hash, alive)
    del band_hash
    i, j, jaccard = _verify(pairs, order, texts, config)
    i, j = np.concatenate([head, i]), np.concatenate([repeat, j])
    if not i.size:
        return {}
    return _cluster(i, j, np.concatenate([np.ones(len(head)), jaccard]), order)


def dedupe_texts(texts: Sequence[str], config: NearDupConfig = NearDupConfig()) -> dict[int, tuple[str, int, float]]:
    """Exact, then near duplicates, the first text of each group wins: {dropped index:
    (reason, kept index, jaccard)}, reason "exact_duplicate" or "near_duplicate".

    Exact means equal in `normalize_text` form (case, punctuation, whitespace); near means
    MinHash-verified Jaccard >= `config.threshold` over the exact-unique texts. The kept
    index is always a text that survives, also for an exact copy of a text that was itself
    a near duplicate. Brainstormed tasks, expanded personas and the corpus clusters that
    mining keeps apart all deduplicate through here.
    """
    first: dict[str, int] = {}
    dropped: dict[int, tuple[str, int, float]] = {}
    heads: list[int] = []
    for i, text in enumerate(texts):
        key = normalize_text(text)
        if key in first:
            dropped[i] = ("exact_duplicate", first[key], 1.0)
        else:
            first[key] = i
            heads.append(i)
    found = find_near_duplicates([f"{i:012d}" for i in heads], [texts[i] for i in heads], config)
    for j, (kept, jaccard) in found.items():
        dropped[heads[j]] = ("near_duplicate", heads[kept], round(float(jaccard), 4))
    for i, (reason, kept, jaccard) in dropped.items():
        if reason == "exact_duplicate" and kept in dropped:
            dropped[i] = (reason, dropped[kept][1], jaccard)
    return dropped
