"""A run, end to end: corpus -> personas -> stages -> rows -> shards -> manifest.

The corpus streams in shards of `run.shard_size` documents. For each shard, every stage
of every task is one batched engine call (`synthgen/run/shard_worker.py`, in this process or
on Ray actors); the surviving items become rows and are written as one
`generated/part-NNNNN.parquet` (with the shard's documents beside it). When all shards are done, `synthgen/run/finalize.py` runs the quality gates and mining
into the final `data/train-NNNNN.parquet` files, and the manifest records what was kept
and what was dropped, by reason.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow.parquet as pq
from rich.console import Console

import synthgen
from synthgen.run.cells import CellStats, kept_per_cell, yield_table
from synthgen.run.checkpoint import (Checkpoint, check_resume, file_digest, fingerprint_changes, load_checkpoint,
                                 save_checkpoint)
from synthgen.corpus.readers import Document, Reject, count_records, read_corpus, without_duplicate_ids
from synthgen.engines import Embedder, Generator, load_embedder
from synthgen.errors import UserError
from synthgen.run.executors import Executor, LocalExecutor, ShardSpec, check_executor
from synthgen.run.finalize import FinalizeReport, Finalizer
from synthgen.generation.stages import StageStats
from synthgen.engines.models import public_model_id
from synthgen.run.output import RejectLog, RunFolder, count_values, documents_table, output_errors, write_parquet
from synthgen.personas.library import library_path, load_personas
from synthgen.run.progress import RunProgress
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.loader import build_recipe
from synthgen.config.recipe import Recipe
from synthgen.generation.rows import rows_to_table
from synthgen.run.shard_worker import ShardResult, ShardWork, ShardWorker, expected_requests
from synthgen.run.terminal import engine_output_to, terminal_stderr
from synthgen.tasks import build_tasks


@dataclass
class RunState:
    """Counters of a run, turned into the manifest at the end."""

    documents_read: int = 0
    documents_kept: int = 0
    documents_truncated: int = 0
    work_items: int = 0
    generated_rows: int = 0
    stages: dict[str, StageStats] = field(default_factory=dict)
    brainstorm: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, CellStats] = field(default_factory=dict)  # synthgen/run/cells.py


class Pipeline:
    """Runs one recipe into one output folder. Engines may be passed in (tests, notebooks).

    `executor="ray"` generates the shards on a Ray cluster (`synthgen/run/ray_executor.py`);
    `shard=ShardSpec(I, N)` generates only this process's share of the shards and stops
    before the global steps, which `synthgen merge` runs over all N parts.
    `engine_log=True` sends what vLLM, torch and the rest print to `OUT/logs/engine.log`
    (`synthgen/run/terminal.py`), leaving the terminal to synthgen's progress.
    `ideas_from=DIR` takes the brainstormed ideas (label sets, task definitions) of the run
    in DIR instead of brainstorming: shard runs share shard 0's, so `merge` finds them equal
    whatever the engine's numerics.
    """

    def __init__(self, recipe: Recipe, out: str | Path, generator: Generator | None = None,
                 embedder: Embedder | None = None, prompts: PromptLibrary | None = None,
                 show_progress: bool = True, executor: str = "local", ray_address: str | None = None,
                 shard: ShardSpec | None = None, engine_log: bool = False, ideas_from: Path | None = None):
        self.recipe = recipe
        self.folder = RunFolder(out)
        self.prompts = prompts or PromptLibrary()
        self.tasks = build_tasks(recipe)
        self._generator = generator
        self._embedder = embedder
        self.show_progress = show_progress
        self.executor_name = executor
        self.ray_address = ray_address
        self.shard = shard
        self.engine_log = engine_log
        self.ideas_from = ideas_from
        self.state = RunState()

    def run(self, limit_docs: int | None = None, overwrite: bool = False, force: bool = False) -> dict[str, Any]:
        """Run the recipe; an earlier, unfinished run in the same folder is resumed.
        A full or read-only output folder stops the run with one line; what was committed
        stays, and the same command resumes once there is room."""
        with output_errors(self.folder.root):
            return self._run(limit_docs, overwrite, force)

    def _run(self, limit_docs: int | None, overwrite: bool, force: bool) -> dict[str, Any]:
        started = time.perf_counter()
        self._check_templates()
        total = sum(count_records(c, c.resolved_path()) for c in self.recipe.corpus)
        total = min(total, limit_docs) if limit_docs is not None else total
        if self.recipe.corpus and total == 0:
            raise UserError(f"corpus: {', '.join(c.path for c in self.recipe.corpus)} holds no documents "
                            "(check corpus.path and corpus.format)")
        personas = load_personas(self.recipe.personas.libraries)
        checkpoint = self._open_folder(limit_docs, overwrite, force)
        if checkpoint.complete:
            return orjson.loads(self.folder.manifest.read_bytes())
        with engine_output_to(self.folder.root / "logs" / "engine.log" if self.engine_log else None):
            return self._generate_and_finalize(checkpoint, personas, total, limit_docs, started)

    def _generate_and_finalize(self, checkpoint: Checkpoint, personas: list, total: int, limit_docs: int | None,
                               started: float) -> dict[str, Any]:
        rejects = RejectLog(self.folder.rejects)
        rejects.rewind(checkpoint.reject_files, checkpoint.reject_counts)
        self._restore(checkpoint)
        remaining = max(total - checkpoint.shards_done * self.recipe.run.shard_size, 0)
        executor = self._open_executor(personas, -(-remaining // self.shard.count) if self.shard else remaining)
        try:
            self._prepare_tasks(executor, rejects, checkpoint)
            with RunProgress(total, Console(file=terminal_stderr()), enabled=self.show_progress) as progress:
                for result in executor.map(self._works(checkpoint, limit_docs, progress)):
                    self._write_shard(result, rejects, progress)
                    done = {"standalone_done": True} if result.standalone else {"shards_done": result.number + 1}
                    self._commit(checkpoint, rejects, **done)
            if not self.state.documents_kept and self.recipe.corpus and self.shard is None:
                raise UserError(f"corpus: no usable documents in {', '.join(c.path for c in self.recipe.corpus)} "
                                f"({self.state.documents_read} records read; reasons in {self.folder.rejects})")
            manifest = self._generation_manifest(rejects, checkpoint.resumed, executor.engine_stats(),
                                                 time.perf_counter() - started)
            if self.shard is None:  # the executor stays open: its embedder serves the finalize pass
                embedder = executor.finalize_embedder(self._embedder_instance)
                report = Finalizer(self.folder, self.recipe, embedder, self._judge_generator()).run()
                manifest = update_manifest(self.folder, manifest, self.recipe, report, time.perf_counter() - started)
            else:
                self.folder.write_manifest(manifest)
        finally:
            executor.close()
        self._commit(checkpoint, rejects, complete=True)
        return manifest

    def _check_templates(self) -> None:
        """Fail before loading any model if a task's template is missing or broken."""
        for template in self._templates():
            _ = self.prompts.get(template).output_schema

    def _templates(self) -> list[str]:
        names = [stage.template for task in self.tasks.values() for stage in task.stages]
        return names + [t for task in self.tasks.values() for t in task.brainstorm_templates]

    def _fingerprint(self, limit_docs: int | None) -> dict[str, Any]:
        """What must not change between a run and its resumption (see synthgen/run/checkpoint.py)."""
        return {"recipe": _fingerprint_recipe(self.recipe), "limit_docs": limit_docs,
                "shard": str(self.shard) if self.shard else None,
                "templates": {t: self.prompts.get(t).sha256 for t in sorted(set(self._templates()))},
                "personas": {name: file_digest(library_path(name)) for name in self.recipe.personas.libraries}}

    def _open_folder(self, limit_docs: int | None, overwrite: bool, force: bool) -> Checkpoint:
        """A fresh folder and checkpoint, or the checkpoint of the run to resume."""
        fingerprint = self._fingerprint(limit_docs)
        previous = None if overwrite else load_checkpoint(self.folder.root)
        if previous is None:
            if self.folder.holds_run() and not overwrite:
                raise UserError(f"output folder {self.folder.root} holds a run without a state.json (an older "
                                "synthgen, or not a run): pass --overwrite to replace it, or choose another --out")
            self.folder.create(overwrite)  # empty folders first, then the state that names them a run
            checkpoint = Checkpoint(fingerprint)
            save_checkpoint(self.folder.root, checkpoint)
            return checkpoint
        previous.fingerprint.setdefault("shard", None)  # state.json of a synthgen before --shard
        previous.fingerprint["recipe"] = _with_current_defaults(previous.fingerprint.get("recipe", {}))
        check_resume(previous.fingerprint, fingerprint, force, self.folder.root)
        self.folder.create(overwrite=False, resume=True)
        previous.fingerprint = fingerprint
        previous.resumed += 0 if previous.complete else 1
        return previous

    def _restore(self, checkpoint: Checkpoint) -> None:
        counters = checkpoint.counters
        if not counters:
            return
        stages = {name: StageStats(**stats) for name, stats in counters["stages"].items()}
        cells = {name: CellStats(**stats) for name, stats in counters.get("cells", {}).items()}
        self.state = RunState(**{**counters, "stages": stages, "cells": cells})

    def _commit(self, checkpoint: Checkpoint, rejects: RejectLog, **progress: Any) -> None:
        """Record what is on disk now: a crash after this resumes from here."""
        for key, value in progress.items():
            setattr(checkpoint, key, value)
        checkpoint.counters = {**vars(self.state), "stages": {n: vars(s) for n, s in self.state.stages.items()},
                               "cells": {n: vars(c) for n, c in self.state.cells.items()}}
        checkpoint.reject_files = rejects.commit()
        checkpoint.reject_counts = dict(rejects.counts)
        save_checkpoint(self.folder.root, checkpoint)

    def _judge_generator(self) -> Generator | None:
        """The run's own generator when `[judge]` names the same model and engine (no second
        copy in memory); None: the judge loads its own when it needs one."""
        judge, generator = self.recipe.judge, self.recipe.generator
        if not judge.enabled or judge.kind != "llm" or (judge.model, judge.engine, judge.base_url) != (
                generator.model, generator.engine, generator.base_url):
            return None
        return self._generator or getattr(getattr(self, "_worker", None), "_generator", None)

    def _embedder_instance(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.recipe.embedder)
        return self._embedder

    def _open_executor(self, personas: list, documents: int) -> Executor:
        """In-process: one worker sharing this pipeline's engines. Ray: one per actor.
        `documents` still to generate size the in-process engine (eager or compiled)."""
        if check_executor(self.executor_name) == "ray":
            from synthgen.run.ray_executor import RayExecutor

            return RayExecutor(self.recipe, personas, self.prompts.root, self.folder.root / ".ray-work",
                               self.ray_address)
        worker = ShardWorker(self.recipe, personas, self.prompts.root, self._generator, self._embedder_instance(),
                             expected_requests(self.recipe, documents))
        self._worker = worker
        return LocalExecutor(worker)

    def _prepare_tasks(self, executor: Executor, rejects: RejectLog, checkpoint: Checkpoint) -> None:
        """Brainstorm step of the tasks that have one (label sets, task definitions); a
        resumed run reuses the committed ideas. Shard runs brainstorm alike (same seeds,
        same batch); only shard 0 records the brainstorm's rejects and counters."""
        for name, task in self.tasks.items():
            if not task.needs_brainstorm() or name in checkpoint.brainstorm:
                continue
            if self.ideas_from is not None:
                checkpoint.brainstorm[name] = self._shared_ideas(name)
                self._commit(checkpoint, rejects)
                continue
            report = executor.brainstorm(name)
            if self.shard is None or self.shard.takes_standalone:
                rejects.write(report.rejects)
                self.state.stages[f"{name}/brainstorm"] = report.stats
                self.state.brainstorm[name] = {"ideas": [_plain(i) for i in report.ideas],
                                               "duplicates_removed": report.duplicates}
            checkpoint.brainstorm[name] = [_plain(idea) for idea in report.ideas]
            self._commit(checkpoint, rejects)
        executor.restore(checkpoint.brainstorm)

    def _shared_ideas(self, task: str) -> list[Any]:
        """Task `task`'s ideas as the run in `ideas_from` brainstormed them."""
        source = load_checkpoint(self.ideas_from) if self.ideas_from.is_dir() else None
        if source is None:
            raise UserError(f"--ideas-from {self.ideas_from}: not a synthgen run folder (no state.json)")
        changes = fingerprint_changes(source.fingerprint.get("recipe", {}), _fingerprint_recipe(self.recipe))
        if changes:
            raise UserError(f"--ideas-from {self.ideas_from}: made with another recipe ({', '.join(changes[:3])})")
        if task not in source.brainstorm:
            raise UserError(f"--ideas-from {self.ideas_from}: no {task} ideas there yet: start that run (shard 0) "
                            "first; it records its ideas in state.json before it generates")
        return source.brainstorm[task]

    def _works(self, checkpoint: Checkpoint, limit_docs: int | None, progress: RunProgress) -> Iterator[ShardWork]:
        """The shards still to generate, in order: this process's share of the corpus
        shards after the committed ones, then the corpus-free items as one last shard."""
        shard = -1
        for work in self._shards(limit_docs):
            shard = work.number
            if shard < checkpoint.shards_done or (self.shard and not self.shard.takes(shard)):
                progress.advance(len(work.documents), 0, 0)
                continue
            yield work
        if not checkpoint.standalone_done and (self.shard is None or self.shard.takes_standalone):
            if any(task.makes_standalone_items for task in self.tasks.values()):
                yield ShardWork(shard + 1, [], standalone=True)

    def _write_shard(self, result: ShardResult, rejects: RejectLog, progress: RunProgress) -> None:
        """A shard's files and counters; committed by the caller."""
        self.state.documents_read += result.records_read
        self.state.documents_kept += len(result.documents)
        self.state.documents_truncated += result.documents_truncated
        self.state.work_items += result.work_items
        self.state.generated_rows += len(result.rows)
        for name, stats in result.stages.items():
            self.state.stages.setdefault(name, StageStats()).__iadd__(stats)
        for name, stats in result.cells.items():
            self.state.cells.setdefault(name, CellStats()).__iadd__(stats)
        rejects.write(result.rejects)
        if result.documents:
            write_parquet(self.folder.document_part_path(result.number), documents_table(result.documents))
        if result.documents or result.rows:
            write_parquet(self.folder.part_path(result.number), rows_to_table(result.rows))
        progress.advance(len(result.documents), result.requests, result.completion_tokens)

    def _shards(self, limit: int | None) -> Iterator[ShardWork]:
        """The corpus cut into numbered shards: the documents, the corpus rejects read with
        them, the records read, and each document's `corpus.max_tokens` where its corpus
        sets one. The cut depends only on the corpus and the recipe, so a resumed run sees
        the same shards."""
        size = self.recipe.run.shard_size
        work = ShardWork(0, [])
        kept = 0
        for item, max_tokens in self._records():
            if limit is not None and kept >= limit:
                break
            work.records_read += 1
            if isinstance(item, Reject):
                work.corpus_rejects.append(item)
                continue
            kept += 1
            work.documents.append(item)
            if max_tokens:
                work.token_limits[item.id] = max_tokens
            if len(work.documents) == size:
                yield work
                work = ShardWork(work.number + 1, [])
        if work.documents or work.corpus_rejects:
            yield work

    def _records(self) -> Iterator[tuple[Document | Reject, int]]:
        """The records of every corpus in order, ids unique across them, each with its
        corpus's `max_tokens` (0: none)."""
        seen: set[str] = set()
        for config in self.recipe.corpus:
            for item in without_duplicate_ids(read_corpus(config, config.resolved_path()), seen):
                yield item, config.max_tokens

    def _generation_manifest(self, rejects: RejectLog, resumed: int, engine_stats: dict[str, Any],
                             seconds: float) -> dict[str, Any]:
        """The manifest's generation part; `update_manifest` adds gates, mining and shards."""
        return {
            "synthgen_version": synthgen.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "recipe": self.recipe.to_dict(),
            "generator": public_model_id(self.recipe.generator.model),
            "embedder": public_model_id(self.recipe.embedder.model),
            "prompts": {stage.template: self.prompts.get(stage.template).sha256
                        for task in self.tasks.values() for stage in task.stages},
            "shard": str(self.shard) if self.shard else None,
            "executor": self.executor_name,
            **generation_counts(self.state, rejects.counts, resumed, engine_stats, seconds),
        }


def _fingerprint_recipe(recipe: Recipe) -> dict[str, Any]:
    """The recipe as the fingerprint holds it: without `output` and `[ray]`, JSON types."""
    return orjson.loads(orjson.dumps({k: v for k, v in recipe.to_dict().items() if k not in ("output", "ray")}))


def _with_current_defaults(recipe: dict[str, Any]) -> dict[str, Any]:
    """A recipe from an older synthgen's state, with the keys this version added at their
    defaults (what the older version did): a run started before an upgrade resumes after it."""
    try:
        return _fingerprint_recipe(build_recipe(recipe))
    except UserError:
        return recipe


def generation_counts(state: RunState, reject_counts: dict[str, int], resumed: int, engine_stats: dict[str, Any],
                      seconds: float) -> dict[str, Any]:
    """The manifest's counters of the generation step (a run's, or merged shard runs')."""
    return {
        "counts": {"documents_read": state.documents_read, "documents_kept": state.documents_kept,
                   "documents_truncated": state.documents_truncated,
                   "work_items": state.work_items, "generated_rows": state.generated_rows},
        "generation_removals": dict(sorted(reject_counts.items())),
        "brainstorm": state.brainstorm,
        "resumed": resumed,
        "stages": {name: vars(stats) for name, stats in state.stages.items()},
        "cells": {name: vars(stats) for name, stats in sorted(state.cells.items())},
        "engine": engine_stats,
        "timings": {"generation_seconds": round(sum(s.seconds for s in state.stages.values()), 3),
                    "until_generated_seconds": round(seconds, 3)},
    }


def update_manifest(folder: RunFolder, manifest: dict[str, Any], recipe: Recipe, report: FinalizeReport,
                    seconds: float) -> dict[str, Any]:
    """Record a finalize pass (gates, mining, final shards) in the manifest and write it."""
    manifest["recipe"] = recipe.to_dict()
    manifest["counts"]["generated_rows"] = report.rows_in
    manifest["counts"]["rows"] = report.rows_out
    manifest["counts_by"] = _counts_by(folder.data, ("task", "query_language", "document_language"))
    manifest["gate_removals"] = report.removals
    manifest["removals"] = dict(sorted({**manifest["generation_removals"], **report.removals}.items()))
    manifest["mining"] = {"report": report.mining, "advice": report.advice}
    manifest["calibration"] = report.calibration
    manifest["contamination"] = report.contamination
    manifest["collisions"] = report.collisions
    manifest["diversity"] = report.diversity
    manifest["finalize_embedding"] = report.embedding
    if report.judge:
        manifest["judge"] = report.judge
    else:
        manifest.pop("judge", None)
    manifest["yield"] = yield_table(manifest.get("cells", {}), kept_per_cell(folder.data))
    manifest["shards"] = report.shards
    manifest["timings"]["total_seconds"] = round(seconds, 3)
    manifest.pop("eval", None)  # `synthgen eval` scored the rows these shards replace
    folder.write_manifest(manifest)
    return manifest


def _counts_by(folder: Path, columns: tuple[str, ...]) -> dict[str, Any]:
    """Row counts per value of each column, and per task and query language."""
    tables = [pq.read_table(path, columns=list(columns)) for path in sorted(folder.glob("*.parquet"))]
    by_task: dict[str, dict[str, int]] = {}
    for table in tables:
        for task, language in zip(table.column("task").to_pylist(), table.column("query_language").to_pylist()):
            by_task.setdefault(task, {})[language] = by_task.setdefault(task, {}).get(language, 0) + 1
    result: dict[str, Any] = count_values(tables, columns)
    result["task_query_language"] = {t: dict(sorted(v.items())) for t, v in sorted(by_task.items())}
    return result


def _plain(idea: Any) -> Any:
    """A brainstormed idea as JSON-ready data (label sets are dataclasses)."""
    return dataclasses.asdict(idea) if dataclasses.is_dataclass(idea) else idea
