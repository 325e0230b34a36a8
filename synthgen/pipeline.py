"""A run, end to end: corpus -> personas -> stages -> rows -> shards -> manifest.

The corpus streams in shards of `run.shard_size` documents. For each shard, every stage
of every task is one batched engine call; the surviving items become rows
and are written as one `generated/part-NNNNN.parquet` (with the shard's documents beside
it). When all shards are done, `synthgen/finalize.py` runs the quality gates and mining
into the final `data/train-NNNNN.parquet` files, and the manifest records what was kept
and what was dropped, by reason.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq

import synthgen
from synthgen.brainstorm import Brainstormer
from synthgen.corpus import Document, Reject, count_records, read_corpus
from synthgen.engines import Embedder, Generator, load_embedder, load_generator
from synthgen.generation import StageStats, run_stage
from synthgen.models import public_model_id
from synthgen.finalize import FinalizeReport, Finalizer
from synthgen.output import RejectLog, RunFolder, documents_table, write_parquet
from synthgen.personas import PersonaIndex, load_personas
from synthgen.progress import RunProgress
from synthgen.prompts import PromptLibrary
from synthgen.recipe import Recipe
from synthgen.rows import rows_to_table, stable_int
from synthgen.tasks import WorkItem, build_tasks


@dataclass
class RunState:
    """Counters of a run, turned into the manifest at the end."""

    documents_read: int = 0
    documents_kept: int = 0
    work_items: int = 0
    stages: dict[str, StageStats] = field(default_factory=dict)
    brainstorm: dict[str, Any] = field(default_factory=dict)


class Pipeline:
    """Runs one recipe into one output folder. Engines may be passed in (tests, notebooks)."""

    def __init__(self, recipe: Recipe, out: str | Path, generator: Generator | None = None,
                 embedder: Embedder | None = None, prompts: PromptLibrary | None = None,
                 show_progress: bool = True):
        self.recipe = recipe
        self.folder = RunFolder(out)
        self.prompts = prompts or PromptLibrary()
        self.tasks = build_tasks(recipe)
        self._generator = generator
        self._embedder = embedder
        self.show_progress = show_progress
        self.state = RunState()

    def run(self, limit_docs: int | None = None, overwrite: bool = False) -> dict[str, Any]:
        started = time.perf_counter()
        self._check_templates()
        total = sum(count_records(c, c.resolved_path()) for c in self.recipe.corpus)
        total = min(total, limit_docs) if limit_docs is not None else total
        personas = load_personas(self.recipe.personas.libraries)
        self.folder.create(overwrite)
        embedder = self._embedder or load_embedder(self.recipe.embedder)
        index = PersonaIndex(personas, embedder)
        generator = self._generator or load_generator(self.recipe.generator)
        rejects = RejectLog(self.folder.rejects)
        self._prepare_tasks(Brainstormer(generator, self.prompts, self.recipe.generator, personas, self.recipe.seed),
                            rejects)
        documents = self._documents(rejects, limit_docs)
        with RunProgress(total, enabled=self.show_progress) as progress:
            shard = -1
            for shard, batch in enumerate(_batched(documents, self.recipe.run.shard_size)):
                items = self._plan(batch, index, rejects)
                self._run_shard(shard, batch, items, generator, rejects, progress)
            standalone = [i for t in self.tasks.values() if hasattr(t, "standalone_items") for i in t.standalone_items()]
            if standalone:
                self.state.work_items += len(standalone)
                self._run_shard(shard + 1, [], standalone, generator, rejects, progress)
        generation_seconds = time.perf_counter() - started
        report = Finalizer(self.folder, self.recipe, embedder).run()
        return self._write_manifest(report, rejects, generation_seconds, time.perf_counter() - started)

    def _check_templates(self) -> None:
        """Fail before loading any model if a task's template is missing or broken."""
        for task in self.tasks.values():
            for stage in task.stages:
                _ = self.prompts.get(stage.template).output_schema

    def _prepare_tasks(self, brainstormer: Brainstormer, rejects: RejectLog) -> None:
        """Run the brainstorm step of tasks that have one (label sets, task definitions)."""
        for name, task in self.tasks.items():
            report = task.prepare(brainstormer) if hasattr(task, "prepare") else None
            if report is None:
                continue
            rejects.write(report.rejects)
            self.state.stages[f"{name}/brainstorm"] = report.stats
            self.state.brainstorm[name] = {"ideas": [_plain(idea) for idea in report.ideas],
                                           "duplicates_removed": report.duplicates}

    def _documents(self, rejects: RejectLog, limit: int | None) -> Iterator[Document]:
        seen: set[str] = set()
        for config in self.recipe.corpus:
            for item in read_corpus(config, config.resolved_path()):
                if limit is not None and self.state.documents_kept >= limit:
                    return
                self.state.documents_read += 1
                if isinstance(item, Document) and item.id in seen:
                    item = Reject("corpus", "duplicate_id", item.id)
                if isinstance(item, Reject):
                    rejects.write([item])
                    continue
                seen.add(item.id)
                self.state.documents_kept += 1
                yield item

    def _run_shard(self, shard: int, documents: list[Document], items: list[WorkItem], generator: Generator,
                   rejects: RejectLog, progress: RunProgress) -> None:
        rows: list[dict[str, Any]] = []
        requests = tokens = 0
        for task_name, task in self.tasks.items():
            live = [item for item in items if item.task == task_name]
            sampling = dataclasses.replace(self.recipe.generator,
                                           max_tokens=task.config.max_tokens or self.recipe.generator.max_tokens)
            for stage in task.stages:
                live, dropped, stats = run_stage(stage, task_name, live, generator, self.prompts, sampling)
                rejects.write(dropped)
                self.state.stages.setdefault(f"{task_name}/{stage.name}", StageStats()).__iadd__(stats)
                requests, tokens = requests + stats.requests, tokens + stats.completion_tokens
            rows += [task.to_row(item) for item in live]
        write_parquet(self.folder.document_part_path(shard), documents_table(documents))
        write_parquet(self.folder.part_path(shard), rows_to_table(rows))
        progress.advance(len(documents), requests, tokens)

    def _plan(self, documents: list[Document], index: PersonaIndex, rejects: RejectLog) -> list[WorkItem]:
        """Work items for a shard: task, seed, persona candidates and sampled requirements.
        Each item samples its task, by weight, among the tasks that take its document."""
        candidates = index.search([d.text for d in documents], self.recipe.personas.candidates)
        enabled = self.recipe.tasks.enabled()
        items = []
        for document, found in zip(documents, candidates):
            names = [name for name, task in self.tasks.items() if task.accepts(document)]
            if not names:
                rejects.write([Reject("plan", "no_task_for_document", document.id, {"language": document.language})])
                continue
            weights = [enabled[name].weight for name in names]
            for variant in range(self.recipe.queries_per_document):
                seed = stable_int(self.recipe.name, self.recipe.seed, document.id, variant)
                task = random.Random(seed).choices(names, weights=weights)[0]
                item = WorkItem(document, variant, task, seed, [p for p, _ in found])
                self.tasks[task].plan(item)
                items.append(item)
        self.state.work_items += len(items)
        return items

    def _write_manifest(self, report: FinalizeReport, rejects: RejectLog, generation_seconds: float,
                        seconds: float) -> dict[str, Any]:
        manifest = {
            "synthgen_version": synthgen.__version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "recipe": self.recipe.to_dict(),
            "generator": public_model_id(self.recipe.generator.model),
            "embedder": public_model_id(self.recipe.embedder.model),
            "prompts": {stage.template: self.prompts.get(stage.template).sha256
                        for task in self.tasks.values() for stage in task.stages},
            "counts": {"documents_read": self.state.documents_read, "documents_kept": self.state.documents_kept,
                       "work_items": self.state.work_items, "generated_rows": report.rows_in},
            "generation_removals": dict(sorted(rejects.counts.items())),
            "brainstorm": self.state.brainstorm,
            "stages": {name: vars(stats) for name, stats in self.state.stages.items()},
            "timings": {"generation_seconds": round(sum(s.seconds for s in self.state.stages.values()), 3),
                        "until_generated_seconds": round(generation_seconds, 3)},
        }
        return update_manifest(self.folder, manifest, self.recipe, report, seconds)


def update_manifest(folder: RunFolder, manifest: dict[str, Any], recipe: Recipe, report: FinalizeReport,
                    seconds: float) -> dict[str, Any]:
    """Record a finalize pass (gates, mining, final shards) in the manifest and write it."""
    manifest["recipe"] = recipe.to_dict()
    manifest["counts"]["rows"] = report.rows_out
    manifest["counts_by"] = _counts_by(folder.data, ("task", "query_language", "document_language"))
    manifest["gate_removals"] = report.removals
    manifest["removals"] = dict(sorted({**manifest["generation_removals"], **report.removals}.items()))
    manifest["mining"] = {"report": report.mining, "advice": report.advice}
    manifest["shards"] = report.shards
    manifest["timings"]["total_seconds"] = round(seconds, 3)
    folder.write_manifest(manifest)
    return manifest


def _counts_by(folder: Path, columns: tuple[str, ...]) -> dict[str, Any]:
    """Row counts per value of each column, and per task and query language."""
    counts: dict[str, dict[str, int]] = {c: {} for c in columns}
    by_task: dict[str, dict[str, int]] = {}
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path, columns=list(columns))
        for column in columns:
            for entry in table.column(column).value_counts().to_pylist():
                key = entry["values"]
                counts[column][key] = counts[column].get(key, 0) + entry["counts"]
        for task, language in zip(table.column("task").to_pylist(), table.column("query_language").to_pylist()):
            by_task.setdefault(task, {})[language] = by_task.setdefault(task, {}).get(language, 0) + 1
    result: dict[str, Any] = {c: dict(sorted(v.items())) for c, v in counts.items()}
    result["task_query_language"] = {t: dict(sorted(v.items())) for t, v in sorted(by_task.items())}
    return result


def _batched(iterable: Iterator[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _plain(idea: Any) -> Any:
    """A brainstormed idea as JSON-ready data (label sets are dataclasses)."""
    return dataclasses.asdict(idea) if dataclasses.is_dataclass(idea) else idea
