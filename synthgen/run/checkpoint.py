"""Crash-safe, resumable runs: what a run has committed, in `OUT/state.json`.

Work is cut into deterministic units: the corpus is read in a fixed order and cut into
shards of `run.shard_size` documents; a shard's items, seeds and persona candidates depend
only on the recipe and the documents. A shard is committed when its generated rows and
documents are on disk (each written to a temporary file, fsynced and renamed) and its
rejects are fsynced; then `state.json` is rewritten atomically with the number of shards
done, the run's counters, the byte length of every reject file and the brainstormed ideas.

On restart, `synthgen run` on the same folder reads the state, cuts reject files back to
their committed length (a shard that died half-way leaves nothing behind), skips the
committed shards and goes on. Nothing is lost and nothing is counted twice, so the final
rows have exactly the ids of an uninterrupted run; with a deterministic engine (per-request
seeds, the same shard batches) the very same rows.

The state also holds the run's fingerprint: the recipe (without its `output` path and
`[ray]` placement), the sha256 of every prompt template and persona library, `--limit-docs`
and `--shard`. A resume with a
different fingerprint is refused, naming what changed, unless forced.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from synthgen.errors import UserError
from synthgen.run.output import atomic_write_bytes

STATE_FILE = "state.json"


@dataclass
class Checkpoint:
    """What a run has committed so far."""

    fingerprint: dict[str, Any]
    shards_done: int = 0
    standalone_done: bool = False
    complete: bool = False
    counters: dict[str, Any] = field(default_factory=dict)
    brainstorm: dict[str, Any] = field(default_factory=dict)
    reject_files: dict[str, int] = field(default_factory=dict)
    reject_counts: dict[str, int] = field(default_factory=dict)
    resumed: int = 0

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def load_checkpoint(root: Path) -> Checkpoint | None:
    path = root / STATE_FILE
    if not path.is_file():
        return None
    try:
        return Checkpoint(**orjson.loads(path.read_bytes()))
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise UserError(f"{path} is not a synthgen run state ({exc}): pass --overwrite to start over") from None


def save_checkpoint(root: Path, checkpoint: Checkpoint) -> None:
    atomic_write_bytes(root / STATE_FILE, checkpoint.to_json())
    _fsync_dir(root)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def fingerprint_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """The keys whose values differ between two fingerprints, as dotted paths with the values."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += fingerprint_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key} ({_short(a)} -> {_short(b)})")
    return changes


def check_resume(old: dict[str, Any], new: dict[str, Any], force: bool, root: Path) -> None:
    """Refuse to resume a run whose recipe, templates or personas changed, unless forced."""
    changes = fingerprint_changes(old, new)
    if changes and not force:
        shown = ", ".join(changes[:3]) + (f" and {len(changes) - 3} more" if len(changes) > 3 else "")
        raise UserError(f"cannot resume {root}: changed since the run started: {shown}; pass --force to "
                        "resume anyway, or --overwrite to start over")


def _short(value: Any) -> str:
    text = "unset" if value is None else str(value)
    return text if len(text) <= 40 else text[:12] + "..."


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
