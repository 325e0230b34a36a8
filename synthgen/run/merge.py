"""`synthgen merge`: shard runs (`synthgen run --shard I/N`) joined into one finished run.

Job arrays (Slurm and the like) run the same recipe N times with `--shard 0/N` ...
`--shard N-1/N`, each into its own folder. Each holds its shards' generated rows,
documents and generation rejects. `merge` checks that the parts belong together (one
fingerprint: recipe, templates, personas, `--limit-docs`; every I of one N, each
finished), copies them into one folder (part files keep the corpus shard number, so they
never collide), adds up the counters, and runs the global steps over everything: exact
and near-dup dedup, the per-row gates, hard-negative mining against the whole corpus.
The result is the folder a single `synthgen run` would have written, with the same ids.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import orjson

from synthgen.run.cells import CellStats
from synthgen.run.checkpoint import Checkpoint, fingerprint_changes, load_checkpoint, save_checkpoint
from synthgen.engines import Embedder, load_embedder
from synthgen.errors import UserError
from synthgen.run.executors import ShardSpec
from synthgen.run.finalize import Finalizer
from synthgen.generation.stages import StageStats
from synthgen.run.output import RejectLog, RunFolder, output_errors
from synthgen.run.pipeline import RunState, generation_counts, update_manifest
from synthgen.config.loader import build_recipe


def merge_runs(sources: list[Path], out: Path, overwrite: bool = False,
               embedder: Embedder | None = None) -> dict[str, Any]:
    """Join finished shard runs into `out` and finalize it; returns the manifest."""
    started = time.perf_counter()
    parts = _check_parts(sources)
    _check_out_apart(out, [source for source, _ in parts])
    folder = RunFolder(out)
    if folder.holds_run() and not overwrite:
        raise UserError(f"merge --out {out}: the folder holds a run; pass --overwrite to replace it")
    with output_errors(folder.root):
        folder.create(overwrite=True, option="merge --out")
        state, reject_counts = RunState(), {}
        for source, checkpoint in parts:
            _copy_files(RunFolder(source), folder)
            _add_counters(state, checkpoint, first=checkpoint is parts[0][1])
            for reason, count in checkpoint.reject_counts.items():
                reject_counts[reason] = reject_counts.get(reason, 0) + count
        first_manifest = orjson.loads(RunFolder(parts[0][0]).manifest.read_bytes())
        recipe = build_recipe(first_manifest["recipe"])
        manifest = {key: first_manifest[key] for key in ("synthgen_version", "created", "recipe", "generator",
                                                         "embedder", "prompts")}
        manifest |= {"shard": None, "executor": "merge", "merged_from": [str(s) for s, _ in parts],
                     **generation_counts(state, reject_counts, sum(c.resumed for _, c in parts), {}, 0.0)}
        report = Finalizer(folder, recipe, embedder or load_embedder(recipe.embedder)).run()
        manifest = update_manifest(folder, manifest, recipe, report, time.perf_counter() - started)
        fingerprint = {**parts[0][1].fingerprint, "shard": None}
        save_checkpoint(folder.root, Checkpoint(fingerprint, shards_done=0, standalone_done=True, complete=True,
                                                reject_files=RejectLog(folder.rejects).commit(),
                                                reject_counts=reject_counts))
    return manifest


def _check_out_apart(out: Path, sources: list[Path]) -> None:
    """`--out` must be none of the parts, and not inside one: the parts are read while
    `--out` is written (and replaced with --overwrite)."""
    target = out.resolve()
    for source in sources:
        part = source.resolve()
        if target == part or part in target.parents or target in part.parents:
            raise UserError(f"merge --out {out}: overlaps the shard run {source}; give a folder outside the parts")


def _check_parts(sources: list[Path]) -> list[tuple[Path, Checkpoint]]:
    """The shard runs in shard order, or a one-line error naming what does not fit."""
    parts: dict[int, tuple[Path, Checkpoint]] = {}
    counts = set()
    for source in sources:
        checkpoint = load_checkpoint(source)
        shard = checkpoint.fingerprint.get("shard") if checkpoint else None
        if checkpoint is None or shard is None:
            raise UserError(f"merge: {source} is not a shard run (run `synthgen run RECIPE --shard I/N --out DIR`)")
        if not checkpoint.complete:
            raise UserError(f"merge: {source} (shard {shard}) is not finished: rerun its `synthgen run` to resume it")
        spec = ShardSpec.parse(shard)
        if spec.index in parts:
            raise UserError(f"merge: shard {shard} given twice ({parts[spec.index][0]} and {source})")
        parts[spec.index] = (source, checkpoint)
        counts.add(spec.count)
    if len(counts) != 1:
        raise UserError(f"merge: the runs were cut into different numbers of shards ({sorted(counts)})")
    count = counts.pop()
    missing = sorted(set(range(count)) - set(parts))
    if missing:
        raise UserError(f"merge: shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing; "
                        f"give all {count} shard runs")
    ordered = [parts[i] for i in range(count)]
    reference = {**ordered[0][1].fingerprint, "shard": None}
    for source, checkpoint in ordered[1:]:
        changes = fingerprint_changes(reference, {**checkpoint.fingerprint, "shard": None})
        if changes:
            raise UserError(f"merge: {source} was made with another recipe or templates than {ordered[0][0]}: "
                            f"{', '.join(changes[:3])}")
        for task in sorted(set(checkpoint.brainstorm) | set(ordered[0][1].brainstorm)):
            if checkpoint.brainstorm.get(task) != ordered[0][1].brainstorm.get(task):
                raise UserError(f"merge: {source} brainstormed other {task} ideas than {ordered[0][0]} (the engine's "
                                "text can differ between processes): run the other shards with shard 0's ideas, "
                                f"`synthgen run RECIPE --shard I/N --ideas-from {ordered[0][0]}`")
    return ordered


def _copy_files(source: RunFolder, target: RunFolder) -> None:
    """Generated parts and documents (names carry the corpus shard number) and rejects."""
    for path in [*source.parts(), *source.document_parts()]:
        shutil.copyfile(path, target.generated / path.name)
    for path in sorted(source.rejects.glob("*.jsonl")):
        with path.open("rb") as reader, (target.rejects / path.name).open("ab") as writer:
            shutil.copyfileobj(reader, writer)


def _add_counters(state: RunState, checkpoint: Checkpoint, first: bool) -> None:
    """Sum a shard run's counters into `state`. Every shard run brainstorms the same ideas;
    only shard 0 counted them."""
    counters = checkpoint.counters
    for name in ("documents_read", "documents_kept", "documents_truncated", "work_items", "generated_rows"):
        setattr(state, name, getattr(state, name) + counters.get(name, 0))
    for name, stats in counters.get("stages", {}).items():
        state.stages.setdefault(name, StageStats()).__iadd__(StageStats(**stats))
    for name, stats in counters.get("cells", {}).items():
        state.cells.setdefault(name, CellStats()).__iadd__(CellStats(**stats))
    if first:
        state.brainstorm = counters.get("brainstorm", {})
