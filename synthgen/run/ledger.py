"""Exactly-once accounting of a run's work items: the guarantee that holds on every machine.

What a model writes for a work item (its query, or which stage rejects it) depends on the
engine's numerics, and those vary with the CPU's kernels, the thread count, the prefix
cache's history and how a server batches requests. What a run does with its work items
does not. On any machine, for a clean run, a run killed and resumed, a run whose server
died and came back, a Ray run and `--shard` runs joined by `synthgen merge`:

- the work items and their ids depend only on the recipe and the corpus (one item per
  document and variant that a task takes, plus the corpus-free items of brainstormed
  task definitions, which a resumed run reads back from its state);
- each work item ends exactly once: as a row of `generated/part-*.parquet`, or as a
  reject of one of its stages (`rejects/<task>-<stage>.jsonl`, with its id and reason);
  never both, never twice, never missing; the run's `work_items` counter is their number;
- each generated row ends exactly once: as a row of `data/`, or as a gate or mining
  reject (`rejects/gates-*.jsonl`, `rejects/mining.jsonl`) with its id.

`audit_run(folder)` checks all three on a run folder and lists what breaks them. Identical
rows, not only identical accounting, are the opt-in promise of `run.deterministic`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import orjson
import pyarrow.parquet as pq

from synthgen.run.output import RunFolder

GENERATED = "generated"
KEPT = "kept"


@dataclass
class Ledger:
    """Where each work item and each generated row ended.

    `work_items`: work item id -> "generated" or "<task>/<stage>/<reason>".
    `final`: generated row id -> "kept" or "<step>/<reason>" (empty before finalize).
    `problems`: every breach of exactly-once, one line each (empty: the run is sound).
    """

    work_items: dict[str, str] = field(default_factory=dict)
    final: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def outcomes(self) -> Counter:
        """How many work items ended each way ("generated", "retrieval/query/bad_json", ...)."""
        return Counter(self.work_items.values())


def audit_run(root: str | Path) -> Ledger:
    """Account for every work item and generated row of the run folder at `root`."""
    folder = RunFolder(root)
    ledger = Ledger()
    generated = _ids_of(folder.parts())
    _record(ledger.work_items, ((i, GENERATED) for i in generated), ledger.problems, "work item")
    stage_rejects = [(r["id"], f"{r['step']}/{r['reason']}") for r in _rejects(folder) if _is_stage_reject(r)]
    _record(ledger.work_items, stage_rejects, ledger.problems, "work item")
    planned = _planned_work_items(folder)
    if planned is not None and planned != len(ledger.work_items):
        ledger.problems.append(f"the run counted {planned} work items, but {len(ledger.work_items)} "
                               "ended as a generated row or a stage reject")
    if folder.manifest.is_file() and folder.data.is_dir():
        _audit_final(folder, set(generated), ledger)
    return ledger


def _audit_final(folder: RunFolder, generated: set[str], ledger: Ledger) -> None:
    kept = _ids_of(sorted(folder.data.glob("*.parquet")))
    dropped = [(r["id"], f"{r['step']}/{r['reason']}") for r in _rejects(folder) if _is_finalize_reject(r)]
    _record(ledger.final, [(i, KEPT) for i in kept] + dropped, ledger.problems, "generated row")
    for row_id in sorted(set(ledger.final) - generated):
        ledger.problems.append(f"{row_id}: in data/ or a gate reject, but not a generated row")
    for row_id in sorted(generated - set(ledger.final)):
        ledger.problems.append(f"generated row {row_id}: neither in data/ nor rejected by a gate")


def _record(outcomes: dict[str, str], entries: Iterator[tuple[str, str]] | list[tuple[str, str]],
            problems: list[str], what: str) -> None:
    for item_id, outcome in entries:
        if item_id in outcomes:
            problems.append(f"{what} {item_id}: ended twice ({outcomes[item_id]}, then {outcome})")
        else:
            outcomes[item_id] = outcome


def _ids_of(paths: list[Path]) -> list[str]:
    return [i for path in paths for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


def _rejects(folder: RunFolder) -> Iterator[dict]:
    for path in sorted(folder.rejects.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                yield orjson.loads(line)


def _is_finalize_reject(record: dict) -> bool:
    """A row dropped by a gate, by mining or by the judge (`judge/...` steps are notes on
    kept rows: dropped negatives, relabels; they carry `row_id`, not `id`)."""
    return record["step"] in ("mining", "judge") or record["step"].split("/")[0] == "gates"


def _is_stage_reject(record: dict) -> bool:
    """A stage's reject of a work item: it carries the item's id (corpus, plan and
    brainstorm rejects are of documents and prompts, not of work items)."""
    return bool(record.get("id")) and not _is_finalize_reject(record)


def _planned_work_items(folder: RunFolder) -> int | None:
    """The run's own count of its work items: the manifest's of a finished run (merged runs
    too), else the counters of the shards `state.json` has committed; None in neither."""
    for path, keys in ((folder.manifest, ("counts", "work_items")), (folder.root / "state.json",
                                                                    ("counters", "work_items"))):
        if path.is_file():
            value = orjson.loads(path.read_bytes())
            for key in keys:
                value = (value or {}).get(key)
            return value
    return None
