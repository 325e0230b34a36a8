"""Leakage: queries that copy their positive passage.

Small generators often answer "write a query" by pasting a sentence of the passage; such a
pair teaches an embedder string matching, not retrieval. Two measures, on normalized text:

- `partial_ratio`: rapidfuzz's similarity (0-100) of the query to its best-matching window
  of the passage; 100 means the query occurs verbatim in it. At or above
  `max_partial_ratio` the query is a (near) copy.
- `copied_words`: the longest run of consecutive query words found verbatim in the
  passage. At or above `max_copied_words` the query pasted a phrase, even if it then goes
  on in its own words; at or above `max_copied_fraction` of the query's words it is mostly
  a pasted phrase.

Queries shorter than `min_query_chars` characters or `min_query_words` words are exempt: a
few keywords, or a title, legitimately reuse the passage's terms (human-written titles often
open their description with the same words: the copied-fraction rule alone rejected 16% of
`make quality`'s real pairs). A query equal to its positive (after normalization) is leakage
at any length.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz

from synthgen.gates.base import GateContext, Verdict
from synthgen.config.quality import LeakageGateConfig
from synthgen.corpus.text import normalize_text


def longest_copied_run(query_words: list[str], passage_words: list[str]) -> int:
    """Length of the longest run of consecutive query words that appears in the passage."""
    return _longest_run(query_words, word_positions(passage_words))


def word_positions(words: list[str]) -> dict[str, list[int]]:
    """{word: the positions it occurs at}: a passage's index for `longest_copied_run`."""
    positions: dict[str, list[int]] = {}
    for j, word in enumerate(words):
        positions.setdefault(word, []).append(j)
    return positions


def _longest_run(query_words: list[str], positions: dict[str, list[int]]) -> int:
    best, previous = 0, {}
    for word in query_words:
        current = {j: previous.get(j - 1, 0) + 1 for j in positions.get(word, ())}
        if current:
            best = max(best, max(current.values()))
        previous = current
    return best


class LeakageFilter:
    name = "leakage"

    def __init__(self, config: LeakageGateConfig):
        self.config = config

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        reasons, ratios, runs = [], [], []
        passages: dict[str, tuple[str, dict[str, list[int]]]] = {}  # a document is the positive of many rows
        for row in rows:
            query = normalize_text(row["query"])
            if row["positive"] not in passages:
                normalized = normalize_text(row["positive"])
                passages[row["positive"]] = (normalized, word_positions(normalized.split()))
            positive, positions = passages[row["positive"]]
            ratio = fuzz.partial_ratio(query, positive) if query and positive else 0.0
            words = query.split()
            copied = _longest_run(words, positions)
            long_enough = len(query) >= self.config.min_query_chars and len(words) >= self.config.min_query_words
            leaked = query == positive or long_enough and (
                ratio >= self.config.max_partial_ratio or copied >= self.config.max_copied_words
                or copied >= self.config.max_copied_fraction * len(words))
            reasons.append("leakage" if leaked else "")
            ratios.append(round(float(ratio), 2))
            runs.append(copied)
        return Verdict(reasons, {"partial_ratio": ratios, "copied_words": runs})
