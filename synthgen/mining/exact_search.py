"""The exact nearest-neighbour search behind mining: for each query, the k corpus rows of
highest inner product, exactly, ties to the lower corpus index.

Candidates rank by the float64 dot product of the float32 vectors (reported rounded to
float32). A
matrix product over chunks of queries (memory bounded by `chunk_bytes`) pre-filters the
candidates, in bfloat16 where the CPU has native bfloat16 dot products (AVX-512 BF16, AMX:
checked at run time), else in float32, with a proven bound on its error that sets how wide
the window of candidates is; the window is then re-scored exactly (`rescore`), so the result
does not depend on the pre-filter. Where the bound cannot be shown for a block, that block
is searched again exactly.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Iterator

import numpy as np


_F32_UNIT = 2.0 ** -24  # unit roundoff of float32 (24 significant bits, rounding to nearest)
_BF16_UNIT = 2.0 ** -8  # of bfloat16 (8 significant bits)

PREFILTERS = ("auto", "bfloat16", "float32")
_AUTO_BF16_PAIRS = 1 << 24  # "auto" pre-filters in bfloat16 from this many (query, document) pairs
_MIN_GROUPS = 1024  # column groups of `_candidates` (and tiles of the bfloat16 products): at least this many


def exact_search(queries: np.ndarray, corpus: np.ndarray, k: int, chunk_bytes: int,
                  prefilter: str = "auto", info: dict | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first query, scores, corpus ids) per chunk of queries: each row's k best, best first, by
    exact score (the float64 dot product of the float32 vectors; returned rounded to float32),
    ties broken by the lower corpus index.

    A pre-filter scores every (query, document) pair: bfloat16 where the CPU multiplies it
    natively (`_prefilter`), else float32. For each query i it comes with a proven bound E_i on
    its error, |pre-filter score - exact score| <= E_i for every document. If t is the
    pre-filter's k-th best score of row i, k documents score >= t - E_i exactly, so the exact
    k-th best is >= t - E_i, and each of the exact k best scores >= t - 2 E_i in the pre-filter.
    `_candidates` takes every document at or above a floor under t minus 2 E_i; they are re-scored
    exactly and the k best of them are the row's k best, whatever the pre-filter's precision.
    The window is as wide as the bound requires, so no query can miss a candidate and none needs
    a fallback. The bound is checked on every candidate (pre-filter against exact score) and, on
    the first chunk, on a whole block of pairs; should it ever fail (it never has), the search
    goes on in float32 from that chunk. `info["prefilter"]` names the pre-filter used.

    Chunks of queries share one score buffer (its first touch is slow; it bounds the memory). A
    thread per core (numpy and torch release the GIL) takes part of each chunk's products (see
    `_BFloat16Prefilter.score`), then part of its rows for the selection.
    """
    scorer = _prefilter(corpus, prefilter, len(queries))
    info = {} if info is None else info
    info["prefilter"] = scorer.name
    groups = min(len(corpus), max(2 * k, _MIN_GROUPS, math.isqrt(k * len(corpus))))
    rows = int(max(1, min(len(queries), chunk_bytes // (scorer.itemsize * len(corpus)))))
    scorer.reserve(rows, groups)
    threads = _threads()
    try:
        with ThreadPoolExecutor(threads, initializer=scorer.thread_setup) as pool:
            for start in range(0, len(queries), rows):
                chunk = queries[start:start + rows]
                best = _search_chunk(scorer, chunk, corpus, k, groups, pool, threads, start == 0)
                if best is None:  # the bound failed its check: search again in float32
                    scorer.teardown()
                    info["prefilter"] = "float32 (the bfloat16 error bound failed its check)"
                    scorer = _Float32Prefilter(corpus)
                    scorer.reserve(rows, groups)
                    best = _search_chunk(scorer, chunk, corpus, k, groups, pool, threads, False)
                yield start, *best
    finally:
        scorer.teardown()


def _threads() -> int:
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(8, os.cpu_count() or 1))


def _search_chunk(scorer, chunk: np.ndarray, corpus: np.ndarray, k: int, groups: int, pool: ThreadPoolExecutor,
                  threads: int, check_block: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Each row's k best (scores, corpus ids) for one chunk of queries, or None if a pre-filter
    score is further from its exact score than the bound allows. The products run on every core
    (`scorer.score`), then the selection on a part of the rows per thread."""
    scores, margin = scorer.score(chunk, pool, threads)
    if check_block and scorer.name == "bfloat16" and not _bound_holds_on_a_block(scores, margin, chunk, corpus):
        return None
    step = max(64, -(-len(chunk) // threads))
    parts = [slice(a, min(a + step, len(chunk))) for a in range(0, len(chunk), step)]
    results = list(pool.map(lambda part: _select_rows(scores.rows(part), margin[part], chunk[part], corpus, k,
                                                      groups), parts))
    if any(result is None for result in results):
        return None
    return np.vstack([r[0] for r in results]), np.vstack([r[1] for r in results])


def _select_rows(scores: "_FlatScores | _TiledScores", margin: np.ndarray, chunk: np.ndarray, corpus: np.ndarray, k: int,
                 groups: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`_search_chunk` for some rows, their scores computed."""
    row, col, approximate = _candidates(scores, margin, k, groups)
    exact = rescore(chunk, corpus, row, col)
    if np.any(np.abs(approximate - exact) > margin[row]):
        return None
    return _best_k(row, col, exact, k, len(chunk))


def _candidates(scores: "_FlatScores | _TiledScores", margin: np.ndarray, k: int, groups: int,
                max_values: int = 1 << 22) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, pre-filter score) of every entry at or above its row's floor - 2 margin, in
    row order. The floor: the columns are split into `groups` >= k groups (columns g, g + G,
    g + 2G, ...); the k-th largest group maximum is at most the row's k-th best score (k groups
    each hold an entry that high). Only the groups whose maximum reaches the threshold are read
    again, in blocks of at most ~`max_values` entries (many close scores select many groups)."""
    maxima = scores.maxima(groups)
    floor = np.partition(maxima, groups - k, axis=1)[:, groups - k]
    exact_threshold = floor.astype(np.float64) - 2 * margin
    threshold = exact_threshold.astype(np.float32)  # rounded down: a float32 at or above it is a candidate
    threshold = np.where(threshold > exact_threshold, np.nextafter(threshold, np.float32(-np.inf)), threshold)
    selected = maxima >= threshold[:, None]
    per_group = -(-scores.columns // groups)
    blocks = np.cumsum(selected.sum(axis=1) * per_group) // max_values  # equal numbers: rows read together
    found = []
    for block in np.unique(blocks):
        rows = np.flatnonzero(blocks == block)
        row, group = np.nonzero(selected[rows[0]:rows[-1] + 1])
        row += rows[0]
        values = scores.group_values(row, group, groups)  # (pairs, per_group); past the last column: -inf
        pair, round_ = np.nonzero(values >= threshold[row][:, None])
        found.append((row[pair], group[pair] + groups * round_, values[pair, round_]))
    return tuple(np.concatenate(f) for f in zip(*found))


def rescore(queries: np.ndarray, corpus: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """The exact score of each (query row, corpus column) pair, pairs ordered by row: float64 dot
    products of the float32 vectors (whose products are exact in float64), a query at a time, in
    numpy's own loop rather than BLAS, so equal vectors get equal sums wherever they sit."""
    exact = np.empty(row.size, dtype=np.float64)
    if not row.size:
        return exact
    queries64 = queries.astype(np.float64)
    ends = np.append(np.flatnonzero(np.diff(row)) + 1, row.size)
    starts = np.insert(ends[:-1], 0, 0)
    for start, end, query in zip(starts.tolist(), ends.tolist(), row[starts].tolist()):
        exact[start:end] = np.einsum("ij,j->i", corpus[col[start:end]].astype(np.float64), queries64[query])
    return exact


def _best_k(row: np.ndarray, col: np.ndarray, exact: np.ndarray, k: int,
            rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best candidates by (exact score, descending; column), with their scores
    rounded to float32 (two of them may round to the same float32 and keep their order)."""
    scores = exact.astype(np.float32)
    order = np.lexsort((col, -exact, row))
    counts = np.bincount(row, minlength=rows)
    rank = np.arange(order.size) - np.repeat(np.cumsum(counts) - counts, counts)
    chosen = order[rank < k]
    return scores[chosen].reshape(rows, k), col[chosen].reshape(rows, k)


def _bound_holds_on_a_block(scores: "_FlatScores | _TiledScores", margin: np.ndarray, chunk: np.ndarray, corpus: np.ndarray,
                            rows: int = 8, columns: int = 1024) -> bool:
    """Whether every pre-filter score of a block of pairs is within its row's bound of the exact score."""
    rows, columns = min(rows, len(chunk)), min(columns, len(corpus))
    exact = chunk[:rows].astype(np.float64) @ corpus[:columns].astype(np.float64).T
    return bool(np.all(np.abs(scores.leading(rows, columns) - exact) <= margin[:rows, None]))


def _prefilter(corpus: np.ndarray, name: str, n_queries: int):
    """The pre-filter: bfloat16 or float32. "auto" takes bfloat16 where the CPU has native
    bfloat16 dot products (AVX-512 BF16 or AMX, checked at run time), torch is loaded already
    (synthgen's embedders load it; mining does not import it, ~300 MB, on its own) and the search
    is large enough to gain."""
    if name not in PREFILTERS:
        raise ValueError(f"prefilter must be one of {', '.join(PREFILTERS)}, got {name!r}")
    if name == "bfloat16" or (name == "auto" and n_queries * len(corpus) >= _AUTO_BF16_PAIRS
                              and "torch" in sys.modules and native_bfloat16()):
        return _BFloat16Prefilter(corpus)
    return _Float32Prefilter(corpus)


@lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """Whether torch is installed and this CPU multiplies bfloat16 natively (AVX-512 BF16, AMX)."""
    try:
        import torch
    except ImportError:
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def _bfloat16_bits(matrix: np.ndarray) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), as its 16 bits (finite inputs)."""
    bits = matrix.view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _from_bfloat16_bits(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bits as float32 (exact: a bfloat16 is the upper half of the float32 of its value)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _row_norms(matrix: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows, rounded up: computed in float32 (each within d u of the
    exact norm, d u < 1e-4 for d < 800), then scaled by 1 + 1e-4 + d u."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix, dtype=np.float32)).astype(np.float64)
    return norms * (1 + 1e-4 + matrix.shape[1] * _F32_UNIT)


def _max_row_norm(matrix: np.ndarray, block: int = 65536) -> float:
    return float(max(_row_norms(matrix[i:i + block]).max() for i in range(0, len(matrix), block)))


class _Float32Prefilter:
    """Scores in float32 (numpy's matrix product). Any summation order of d products errs by at
    most gamma_d = d u / (1 - d u) times the sum of their magnitudes (Higham, Accuracy and
    Stability of Numerical Algorithms, 3.1), <= gamma_d |q| |d|; rounding the exact score to
    float32 adds u |q| |d|."""

    name, itemsize = "float32", 4

    def __init__(self, corpus: np.ndarray):
        self.corpus = corpus
        d = corpus.shape[1]
        self.gamma = d * _F32_UNIT / (1 - d * _F32_UNIT)
        self.corpus_norm = _max_row_norm(corpus)
        self.buffer = None

    def reserve(self, rows: int, groups: int) -> None:  # one buffer for every chunk: its first touch is slow
        self.buffer = np.empty((rows, len(self.corpus)), dtype=np.float32)

    def thread_setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def score(self, chunk: np.ndarray, pool: ThreadPoolExecutor, threads: int) -> tuple["_FlatScores", np.ndarray]:
        """Scores of `chunk` (one numpy product, on the BLAS threads); each row's error bound."""
        scores = self.buffer[:len(chunk)]
        np.matmul(chunk, self.corpus.T, out=scores)
        bound = (self.gamma + _F32_UNIT) * _row_norms(chunk) * self.corpus_norm
        return _FlatScores(scores), bound * (1 + 1e-6) + 1e-12


class _BFloat16Prefilter:
    """Scores in bfloat16: both sides rounded to bfloat16 (q', d'), multiplied with float32
    accumulation (torch, oneDNN), the sums rounded to bfloat16. For query q and document d:
    |q.d - q'.d'| <= |q - q'| |d| + |q'| |d - d'| (Cauchy-Schwarz, with the rounding errors as
    they are, measured per vector: q - q' is exact in float32); accumulating the exact bfloat16
    products in float32 adds at most gamma_d |q'| |d'|, rounding the sum to bfloat16 u_bf16 of
    its magnitude, and rounding the exact score to float32 u |q| |d|: ~0.0075 for unit vectors,
    half of it the last rounding, so the window is ~0.015 wide.

    The corpus is multiplied a tile of `groups` documents at a time (the tile's products stay in
    cache for the group maxima, and the product itself runs faster than over the whole corpus):
    the buffer holds tile after tile, so group g of `_candidates` is column g of every tile."""

    name, itemsize = "bfloat16", 2

    def __init__(self, corpus: np.ndarray):
        import torch

        self.torch, self.columns = torch, len(corpus)
        d = corpus.shape[1]
        self.gamma = d * _F32_UNIT / (1 - d * _F32_UNIT)
        bits = np.concatenate([_bfloat16_bits(corpus[i:i + 65536]) for i in range(0, len(corpus), 65536)])
        errors = [_row_norms(corpus[i:i + 65536] - _from_bfloat16_bits(bits[i:i + 65536])).max()
                  for i in range(0, len(corpus), 65536)]
        rounded_norms = [_row_norms(_from_bfloat16_bits(bits[i:i + 65536])).max() for i in range(0, len(corpus), 65536)]
        self.error, self.rounded_norm, self.norm = max(errors), max(rounded_norms), _max_row_norm(corpus)
        self.bits = bits
        self.main_threads = torch.get_num_threads()
        self.tiles = self.buffer = None

    def reserve(self, rows: int, groups: int) -> None:
        torch = self.torch
        count = -(-self.columns // groups)
        padded = np.zeros((count * groups, self.bits.shape[1]), dtype=np.uint16)  # zero documents past the end
        padded[:self.columns] = self.bits
        corpus = torch.from_numpy(padded.view(np.int16)).view(torch.bfloat16)
        self.tiles = [corpus[t * groups:(t + 1) * groups].T for t in range(count)]
        self.groups, self.last = groups, self.columns - (count - 1) * groups  # real columns of the last tile
        self.bits = None  # the tiles hold the corpus now
        self.buffer = torch.empty((count, rows, groups), dtype=torch.bfloat16)
        self.buffer_bits = self.buffer.view(torch.int16).numpy().view(np.uint16)

    def thread_setup(self) -> None:  # in each worker thread: one torch (OpenMP) thread
        self.torch.set_num_threads(1)

    def teardown(self) -> None:  # torch keeps the last count for threads it has not seen yet
        self.torch.set_num_threads(self.main_threads)

    def score(self, chunk: np.ndarray, pool: ThreadPoolExecutor, threads: int) -> tuple["_TiledScores", np.ndarray]:
        """Scores of `chunk`, tile after tile, their group maxima, and each row's error bound. The
        tiles are split between the threads, each with every row of the chunk (a matrix product
        over more rows runs faster) and one torch thread (no thread waits on another)."""
        torch = self.torch
        bits = _bfloat16_bits(chunk)
        rounded32 = _from_bfloat16_bits(bits)
        rounded = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16)
        rows = len(chunk)

        def products(tiles: range):
            maxima = None
            for t in tiles:
                out = self.buffer[t, :rows]
                torch.mm(rounded, self.tiles[t], out=out)
                if t == len(self.tiles) - 1 and self.last < self.groups:
                    out[:, self.last:] = -float("inf")  # the zero documents past the end
                if maxima is None:
                    maxima = out.clone()
                else:
                    torch.maximum(maxima, out, out=maxima)
            return maxima

        count = len(self.tiles)
        step = -(-count // threads)
        partial = list(pool.map(products, [range(a, min(a + step, count)) for a in range(0, count, step)]))
        maxima = partial[0]
        for other in partial[1:]:
            torch.maximum(maxima, other, out=maxima)
        query_error, query_norm = _row_norms(chunk - rounded32), _row_norms(rounded32)
        product = query_norm * self.rounded_norm
        bound = (query_error * self.norm + query_norm * self.error + self.gamma * product
                 + _BF16_UNIT * (1 + self.gamma) * product + _F32_UNIT * _row_norms(chunk) * self.norm)
        scores = _TiledScores(self.buffer_bits[:, :rows], maxima.float().numpy(), self.columns)
        return scores, bound * (1 + 1e-6) + 1e-12


class _FlatScores:
    """float32 pre-filter scores of some queries (rows x columns)."""

    def __init__(self, array: np.ndarray):
        self.array, self.columns = array, array.shape[1]

    def rows(self, part: slice) -> "_FlatScores":
        return _FlatScores(self.array[part])

    def leading(self, rows: int, columns: int) -> np.ndarray:
        return self.array[:rows, :columns]

    def maxima(self, groups: int) -> np.ndarray:
        """Per row, the maximum of each column group g (columns g, g + groups, g + 2 * groups, ...)."""
        maxima = self.array[:, :groups].copy()
        for start in range(groups, self.columns, groups):
            part = self.array[:, start:start + groups]
            np.maximum(maxima[:, :part.shape[1]], part, out=maxima[:, :part.shape[1]])
        return maxima

    def group_values(self, row: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
        """For each (row, group), the row's scores in columns group + groups * j, j = 0, 1, ...
        (-inf past the last column): whole rounds through a 3-D view, then the last round."""
        rows, n = self.array.shape
        per_group = -(-n // groups)
        whole = (per_group - 1) * groups
        values = np.empty((row.size, per_group), dtype=np.float32)
        values[:, :-1] = self.array[:, :whole].reshape(rows, per_group - 1, groups)[row, :, group]
        last = whole + group
        values[:, -1] = np.where(last < n, self.array[row, np.minimum(last, n - 1)], -np.inf)
        return values


class _TiledScores:
    """bfloat16 pre-filter scores of some queries, tile after tile (tiles x rows x groups bits),
    with their group maxima."""

    def __init__(self, bits: np.ndarray, maxima: np.ndarray, columns: int):
        self.bits, self._maxima, self.columns = bits, maxima, columns

    def rows(self, part: slice) -> "_TiledScores":
        return _TiledScores(self.bits[:, part], self._maxima[part], self.columns)

    def leading(self, rows: int, columns: int) -> np.ndarray:
        return _from_bfloat16_bits(self.bits[0, :rows, :columns])

    def maxima(self, groups: int) -> np.ndarray:
        return self._maxima

    def group_values(self, row: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
        return _from_bfloat16_bits(self.bits[:, row, group].T)
