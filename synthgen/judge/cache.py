"""The judge's scores on disk: one JSON line per scored pair, keyed by a hash of what
decides the score (judge model, prompt template hash, instruction, query, document).

`OUT/judge/cache.jsonl` is appended after every batch and fsynced, so a rerun of `synthgen
judge` (or a run that died half-way) asks the engine only for pairs it has not scored. A
torn last line is skipped on reading.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from synthgen.generation.rows import stable_hash


def pair_key(model: str, prompt_hash: str, instruction: str, query: str, document: str) -> str:
    return stable_hash("judge", model, prompt_hash, instruction, query, document, digits=32)


class ScoreCache:
    """{pair key: probability}, read from and appended to `path` (None: memory only)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.scores: dict[str, float] = {}
        if path is not None and path.is_file():
            for line in path.read_bytes().splitlines():
                try:
                    entry = orjson.loads(line)
                    self.scores[str(entry["key"])] = float(entry["p"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue  # a line torn by a crash

    def get(self, key: str) -> float | None:
        return self.scores.get(key)

    def add(self, scores: dict[str, float]) -> None:
        """Remember `scores`, rounded to 6 decimals as stored: a rerun reads the same values."""
        scores = {key: round(float(value), 6) for key, value in scores.items()}
        self.scores.update(scores)
        if self.path is None or not scores:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            handle.write(b"".join(orjson.dumps({"key": k, "p": v}) + b"\n" for k, v in scores.items()))
            handle.flush()
            os.fsync(handle.fileno())
