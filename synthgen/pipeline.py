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

import orjson
import pyarrow.parquet as pq

import synthgen
from synthgen.brainstorm import Brainstormer
from synthgen.checkpoint import Checkpoint, check_resume, file_digest, load_checkpoint, save_checkpoint
from synthgen.corpus import Document, Reject, count_records, read_corpus
from synthgen.engines import Embedder, Generator, load_embedder, load_generator
from synthgen.generation import StageStats, run_stage
from synthgen.models import public_model_id
from synthgen.finalize import FinalizeReport, Finalizer
from synthgen.output import RejectLog, RunFolder, documents_table, output_errors, write_parquet
from synthgen.errors import UserError
from synthgen.personas import PersonaIndex, library_path, load_personas
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
    documents_truncated: int = 0
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
        self._token_limits: dict[str, int] = {}

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
        rejects = RejectLog(self.folder.rejects)
        rejects.rewind(checkpoint.reject_files, checkpoint.reject_counts)
        self._restore(checkpoint)
        embedder = self._embedder or load_embedder(self.recipe.embedder)
        index = PersonaIndex(personas, embedder)
        self._prepare_tasks(personas, rejects, checkpoint)
        with RunProgress(total, enabled=self.show_progress) as progress:
            shard = -1
            for shard, (batch, corpus_rejects, read) in enumerate(self._shards(limit_docs)):
                if shard < checkpoint.shards_done:
                    progress.advance(len(batch), 0, 0)
                    continue
                self.state.documents_read += read
                self.state.documents_kept += len(batch)
                rejects.write(corpus_rejects)
                batch = self._fit_to_context(batch)
                items = self._plan(batch, index, rejects)
                self._run_shard(shard, batch, items, rejects, progress)
                self._commit(checkpoint, rejects, shards_done=shard + 1)
            if not checkpoint.standalone_done:
                self._run_standalone(shard + 1, rejects, progress)
                self._commit(checkpoint, rejects, standalone_done=True)
        if not self.state.documents_kept and self.recipe.corpus:
            raise UserError(f"corpus: no usable documents in {', '.join(c.path for c in self.recipe.corpus)} "
                            f"({self.state.documents_read} records read; reasons in {self.folder.rejects})")
        generation_seconds = time.perf_counter() - started
        report = Finalizer(self.folder, self.recipe, embedder).run()
        manifest = self._write_manifest(report, rejects, checkpoint.resumed, generation_seconds,
                                        time.perf_counter() - started)
        self._commit(checkpoint, rejects, complete=True)
        return manifest

    def _check_templates(self) -> None:
        """Fail before loading any model if a task's template is missing or broken."""
        for template in self._templates():
            _ = self.prompts.get(template).output_schema

    def _templates(self) -> list[str]:
        names = [stage.template for task in self.tasks.values() for stage in task.stages]
        return names + [t for task in self.tasks.values() for t in getattr(task, "brainstorm_templates", ())]

    def _fingerprint(self, limit_docs: int | None) -> dict[str, Any]:
        """What must not change between a run and its resumption (see synthgen/checkpoint.py)."""
        recipe = {k: v for k, v in self.recipe.to_dict().items() if k != "output"}
        return {"recipe": orjson.loads(orjson.dumps(recipe)), "limit_docs": limit_docs,
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
        self.state = RunState(**{**counters, "stages": stages})

    def _commit(self, checkpoint: Checkpoint, rejects: RejectLog, **progress: Any) -> None:
        """Record what is on disk now: a crash after this resumes from here."""
        for key, value in progress.items():
            setattr(checkpoint, key, value)
        checkpoint.counters = {**vars(self.state), "stages": {n: vars(s) for n, s in self.state.stages.items()}}
        checkpoint.reject_files = rejects.commit()
        checkpoint.reject_counts = dict(rejects.counts)
        save_checkpoint(self.folder.root, checkpoint)

    def _generator_instance(self) -> Generator:
        """The generator, loaded on first use (a resumed run with nothing left needs none)."""
        if self._generator is None:
            self._generator = load_generator(self.recipe.generator)
        return self._generator

    def _prepare_tasks(self, personas: list, rejects: RejectLog, checkpoint: Checkpoint) -> None:
        """Brainstorm step of the tasks that have one (label sets, task definitions); a
        resumed run reuses the committed ideas."""
        for name, task in self.tasks.items():
            if not hasattr(task, "prepare"):
                continue
            if name in checkpoint.brainstorm:  # committed before the run was interrupted
                task.restore(checkpoint.brainstorm[name])
                continue
            if not task.needs_brainstorm():
                continue
            brainstormer = Brainstormer(self._generator_instance(), self.prompts, self.recipe.generator, personas,
                                        self.recipe.seed)
            report = task.prepare(brainstormer)
            ideas = [_plain(idea) for idea in report.ideas]
            rejects.write(report.rejects)
            self.state.stages[f"{name}/brainstorm"] = report.stats
            self.state.brainstorm[name] = {"ideas": ideas, "duplicates_removed": report.duplicates}
            checkpoint.brainstorm[name] = ideas
            self._commit(checkpoint, rejects)

    def _shards(self, limit: int | None) -> Iterator[tuple[list[Document], list[Reject], int]]:
        """The corpus cut into shards: (documents, corpus rejects read with them, records read).
        The cut depends only on the corpus and the recipe, so a resumed run sees the same shards."""
        size = self.recipe.run.shard_size
        batch: list[Document] = []
        dropped: list[Reject] = []
        read, kept = 0, 0
        seen: set[str] = set()
        for item in self._records():
            if limit is not None and kept >= limit:
                break
            read += 1
            if isinstance(item, Document) and item.id in seen:
                item = Reject("corpus", "duplicate_id", item.id)
            if isinstance(item, Reject):
                dropped.append(item)
                continue
            seen.add(item.id)
            kept += 1
            batch.append(item)
            if len(batch) == size:
                yield batch, dropped, read
                batch, dropped, read = [], [], 0
        if batch or dropped:
            yield batch, dropped, read

    def _records(self) -> Iterator[Document | Reject]:
        for number, config in enumerate(self.recipe.corpus):
            for item in read_corpus(config, config.resolved_path()):
                if isinstance(item, Document) and config.max_tokens:
                    self._token_limits[item.id] = config.max_tokens
                yield item

    def _fit_to_context(self, documents: list[Document]) -> list[Document]:
        """Documents cut to the tokens their prompts can hold, flagged `truncated`: the
        generator's context minus the longest completion and a reserve for the template,
        or the corpus's `max_tokens` when smaller."""
        generator = self._generator_instance()
        context = getattr(generator, "context_length", None)
        longest = max([t.config.max_tokens or self.recipe.generator.max_tokens for t in self.tasks.values()])
        budget = context - longest - PROMPT_RESERVE_TOKENS if context else None
        if budget is not None and budget < MIN_DOCUMENT_TOKENS:
            raise UserError(f"generator: a context of {context} tokens leaves {budget} for a document after "
                            f"max_tokens {longest}: raise engine_kwargs.max_model_len or lower max_tokens")
        fitted = []
        for document in documents:
            limits = [x for x in (budget, self._token_limits.pop(document.id, None)) if x]
            text = _fit(generator, document.text, min(limits)) if limits else document.text
            if text != document.text:
                document = dataclasses.replace(document, text=text, truncated=True)
                self.state.documents_truncated += 1
            fitted.append(document)
        return fitted

    def _run_standalone(self, shard: int, rejects: RejectLog, progress: RunProgress) -> None:
        """Items that need no document (corpus-free tasks), as one last shard."""
        standalone = [i for t in self.tasks.values() if hasattr(t, "standalone_items") for i in t.standalone_items()]
        if standalone:
            self.state.work_items += len(standalone)
            self._run_shard(shard, [], standalone, rejects, progress)

    def _run_shard(self, shard: int, documents: list[Document], items: list[WorkItem], rejects: RejectLog,
                   progress: RunProgress) -> None:
        rows: list[dict[str, Any]] = []
        requests = tokens = 0
        for task_name, task in self.tasks.items():
            live = [item for item in items if item.task == task_name]
            sampling = dataclasses.replace(self.recipe.generator,
                                           max_tokens=task.config.max_tokens or self.recipe.generator.max_tokens)
            for stage in task.stages:
                if not live:
                    break
                live, dropped, stats = run_stage(stage, task_name, live, self._generator_instance(), self.prompts,
                                                 sampling)
                rejects.write(dropped)
                self.state.stages.setdefault(f"{task_name}/{stage.name}", StageStats()).__iadd__(stats)
                requests, tokens = requests + stats.requests, tokens + stats.completion_tokens
            rows += [task.to_row(item) for item in live]
        if documents:
            write_parquet(self.folder.document_part_path(shard), documents_table(documents))
        if documents or rows:
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

    def _write_manifest(self, report: FinalizeReport, rejects: RejectLog, resumed: int, generation_seconds: float,
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
                       "documents_truncated": self.state.documents_truncated,
                       "work_items": self.state.work_items, "generated_rows": report.rows_in},
            "generation_removals": dict(sorted(rejects.counts.items())),
            "brainstorm": self.state.brainstorm,
            "resumed": resumed,
            "stages": {name: vars(stats) for name, stats in self.state.stages.items()},
            "engine": dict(getattr(self._generator, "stats", {}) or {}),
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


PROMPT_RESERVE_TOKENS = 768  # template instructions and persona candidates around the document
MIN_DOCUMENT_TOKENS = 64


def _fit(generator: Generator, text: str, max_tokens: int) -> str:
    """`text` within `max_tokens` tokens: by the generator's tokenizer when it has one,
    else by 3 characters per token (a safe bound for most tokenizers)."""
    if hasattr(generator, "fit_text"):
        return generator.fit_text(text, max_tokens)
    return text if len(text) <= 3 * max_tokens else text[: 3 * max_tokens].rsplit(" ", 1)[0]
