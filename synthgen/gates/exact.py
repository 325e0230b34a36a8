"""Exact deduplication on normalized text (NFKC, case, whitespace, punctuation).

Two reasons, checked in order: `duplicate_pair` (same query and same positive as a row with
a smaller id) and `duplicate_query` (same query as a row with a smaller id, other
positive). The row with the smallest id survives, so the result does not depend on the
order rows arrive in. Keys are 8-byte hashes, so memory stays small on millions of rows.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from synthgen.corpus.text import normalize_text


def text_key(*texts: str) -> bytes:
    """An 8-byte key of the normalized texts (blake2b; collisions are negligible at 1e9 rows)."""
    digest = hashlib.blake2b(digest_size=8)
    for text in texts:
        digest.update(normalize_text(text).encode("utf-8"))
        digest.update(b"\x00")
    return digest.digest()


def find_exact_duplicates(ids: Sequence[str], queries: Sequence[str],
                          positives: Sequence[str]) -> dict[int, tuple[str, int]]:
    """{dropped index: (reason, index of the surviving row)}; the smallest id survives.

    A pair's key is the key of (query key, positive key); a positive's key is computed once
    per distinct positive text (a document is the positive of all its queries)."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    positive_keys: dict[str, bytes] = {}
    first_pair: dict[bytes, int] = {}
    first_query: dict[bytes, int] = {}
    dropped: dict[int, tuple[str, int]] = {}
    for i in order:
        query_key = text_key(queries[i])
        positive_key = positive_keys.get(positives[i])
        if positive_key is None:
            positive_key = positive_keys[positives[i]] = text_key(positives[i])
        pair_key = hashlib.blake2b(query_key + positive_key, digest_size=8).digest()
        if pair_key in first_pair:
            dropped[i] = ("duplicate_pair", first_pair[pair_key])
        elif query_key in first_query:
            dropped[i] = ("duplicate_query", first_query[query_key])
        else:
            first_pair[pair_key] = i
            first_query[query_key] = i
    return dropped
