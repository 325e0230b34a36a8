"""A finished run read back: its manifest and final shards, for the commands that look at
a run after it ends (`report`, `inspect`, `publish`).

Manifests of older synthgen versions lack some keys (`counts_by`, `stages`, per-task
gates); every accessor here falls back to what the shards themselves say, or to nothing,
rather than failing on a run that is otherwise fine.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.errors import UserError
from synthgen.run.output import RunFolder, count_values
from synthgen.config.recipe import redact_recipe
from synthgen.generation.rows import ROW_SCHEMA


# The manifest keys the readers below rely on, with their JSON types: a damaged manifest
# stops with one line instead of an AttributeError deep inside a plot.
_MANIFEST_TYPES = {"recipe": dict, "counts": dict, "counts_by": dict, "stages": dict, "removals": dict,
                   "generation_removals": dict, "gate_removals": dict, "timings": dict, "mining": dict,
                   "shards": list, "brainstorm": dict, "judge": dict, "yield": list, "cells": dict, "eval": dict,
                   "contamination": dict, "collisions": dict, "diversity": dict,
                   "generator": str, "embedder": str, "created": str}
_JSON_NAMES = {dict: "object", list: "array", str: "string"}


class FinishedRun:
    """One run folder with a manifest. `FinishedRun.open(path)` checks that it is one."""

    def __init__(self, folder: RunFolder, manifest: dict[str, Any]):
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, run_dir: str | Path) -> "FinishedRun":
        folder = RunFolder(run_dir)
        if not folder.manifest.is_file():
            raise UserError(f"{run_dir}: no manifest.json, not a finished run "
                            f"(run `synthgen run RECIPE --out {run_dir}` first)")
        try:
            manifest = orjson.loads(folder.manifest.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise UserError(f"{folder.manifest}: not valid JSON ({exc}); the run did not finish writing it: "
                            f"rerun `synthgen run RECIPE --out {run_dir}`") from None
        if not isinstance(manifest, dict):
            raise UserError(f"{folder.manifest}: not a synthgen manifest (a JSON object is expected, got "
                            f"{type(manifest).__name__}): rerun `synthgen run RECIPE --out {run_dir}`")
        for key, kind in _MANIFEST_TYPES.items():
            if manifest.get(key) is not None and not isinstance(manifest[key], kind):
                raise UserError(f"{folder.manifest}: {key} must be a JSON {_JSON_NAMES[kind]}, got "
                                f"{type(manifest[key]).__name__} (not written by synthgen, or damaged): "
                                f"rerun `synthgen run RECIPE --out {run_dir}`")
        return cls(folder, manifest)

    # ---- what the manifest says -------------------------------------------------------

    @property
    def recipe(self) -> dict[str, Any]:
        """The manifest's recipe, credentials redacted (a manifest of an older synthgen may
        hold them: `synthgen.config.recipe.redact_recipe`)."""
        recipe = self.manifest.get("recipe") or {}
        return redact_recipe(recipe) if isinstance(recipe, dict) else {}

    @property
    def name(self) -> str:
        return self.recipe.get("name") or self.folder.root.name

    @property
    def generator(self) -> str:
        return self.manifest.get("generator") or (self.recipe.get("generator") or {}).get("model", "")

    @property
    def embedder(self) -> str:
        return self.manifest.get("embedder") or (self.recipe.get("embedder") or {}).get("model", "")

    @property
    def removals(self) -> dict[str, int]:
        """Dropped items by `step/reason`, generation and gates together."""
        found = self.manifest.get("removals")
        if found is None:
            found = {**self.manifest.get("generation_removals", {}), **self.manifest.get("gate_removals", {})}
        return dict(found)

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest.get("stages") or {})

    def stage_rows(self) -> list[dict[str, Any]]:
        """Per stage: requests, prompt, cached and generated tokens, seconds, generated tokens/s."""
        rows = []
        for name, stage in self.stages.items():
            number = lambda key: stage.get(key) or 0  # noqa: E731  (older manifests lack some keys)
            seconds = float(number("seconds"))
            rows.append({"stage": name, "requests": int(number("requests")),
                         "prompt_tokens": int(number("prompt_tokens")), "cached_tokens": int(number("cached_tokens")),
                         "completion_tokens": int(number("completion_tokens")), "seconds": seconds,
                         "tokens_per_second": number("completion_tokens") / seconds if seconds else 0.0})
        return rows

    def facts(self) -> list[tuple[str, str]]:
        """The run at a glance, as (what, value) pairs: `synthgen inspect` and the report."""
        counts = self.manifest.get("counts") or {}
        timings = self.manifest.get("timings") or {}
        facts = [("run", self.name), ("created", self.manifest.get("created", "?")),
                 ("synthgen", self.manifest.get("synthgen_version", "?")), ("generator", self.generator or "?"),
                 ("embedder", self.embedder or "?"), ("rows", f"{self.rows:,}")]
        for key in ("documents_read", "documents_kept", "work_items", "generated_rows"):
            if key in counts:
                facts.append((key.replace("_", " "), f"{counts[key]:,}"))
        for key, what in (("total_seconds", "wall time"), ("generation_seconds", "generation time")):
            if key in timings:
                facts.append((what, f"{timings[key]:,.1f} s"))
        return facts

    @property
    def rows(self) -> int:
        counts = self.manifest.get("counts") or {}
        if "rows" in counts:
            return int(counts["rows"])
        return sum(pq.ParquetFile(path).metadata.num_rows for path in self.shards)

    def counts(self, column: str) -> dict[str, int]:
        """Rows per value of `column` (task, query_language, document_language), from the
        manifest, or counted in the shards when an older manifest lacks them."""
        recorded = (self.manifest.get("counts_by") or {}).get(column)
        return dict(recorded) if recorded is not None else self.counted(column)

    def counted(self, column: str) -> dict[str, int]:
        """Rows per value of `column`, counted in the final shards."""
        return count_values(self.batches([column]), [column])[column]

    def task_gates(self, task: str) -> tuple[str, ...]:
        """The per-row gates that applied to `task` (the recipe's list, else the task's default)."""
        from synthgen.tasks import TASK_TYPES

        configured = ((self.recipe.get("tasks") or {}).get(task) or {}).get("gates") or []
        if configured:
            return tuple(configured)
        return TASK_TYPES[task].default_gates if task in TASK_TYPES else ()

    def min_cosine(self, task: str) -> float | None:
        """The cosine threshold `task`'s rows had to pass, or None where no cosine gate applied; for a
        calibrated gate, the pooled threshold of the calibration (its per-language ones vary)."""
        cosine = (self.recipe.get("gates") or {}).get("cosine") or {}
        if not cosine.get("enabled", False) or "cosine" not in self.task_gates(task):
            return None
        override = ((self.recipe.get("tasks") or {}).get(task) or {}).get("min_cosine")
        min_score = override if override is not None else cosine.get("min_score", 0.7)
        if min_score == "calibrated":  # per language; the pooled threshold stands for them all
            from synthgen.tasks import TASK_TYPES

            kind = "code" if task in TASK_TYPES and TASK_TYPES[task].takes_code else "text"
            pooled = ((self.manifest.get("calibration") or {}).get(kind) or {}).get("pooled")
            return None if pooled is None else float(pooled)
        if isinstance(min_score, str):  # another name: "qwen3-report" is 0.7
            from synthgen.config.quality import NAMED_THRESHOLDS

            return NAMED_THRESHOLDS.get(min_score)
        return float(min_score)

    # ---- what the shards hold -----------------------------------------------------------

    @property
    def shards(self) -> list[Path]:
        return sorted(self.folder.data.glob("*.parquet"))

    @cached_property
    def columns(self) -> list[str]:
        """The columns of the final shards (the row contract; older runs may lack some)."""
        if not self.shards:
            return ROW_SCHEMA.names
        return pq.read_schema(self.shards[0]).names

    def batches(self, columns: list[str], batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """The final rows in record batches, only `columns` (those the shards have)."""
        wanted = [c for c in columns if c in self.columns]
        for path in self.shards:
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=wanted)

    def sample_rows(self, n: int, task: str | None = None) -> list[dict[str, Any]]:
        """The first `n` rows (of `task`, if given), in shard order: the same rows every time."""
        found: list[dict[str, Any]] = []
        for batch in self.batches(self.columns, batch_size=1024):
            for row in batch.to_pylist():
                if task is None or row.get("task") == task:
                    found.append(row)
                    if len(found) >= n:
                        return found
        return found
