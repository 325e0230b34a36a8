"""The engine side of a run: one shard of documents in, its generated rows out.

A `ShardWorker` holds what generation needs (the generator, the embedder for persona
search, the tasks with their brainstormed ideas) and turns a `ShardWork` (the shard's
documents and the corpus rejects read with them) into a `ShardResult` (rows, the
documents as fitted to the context, rejects, stage counters). It writes nothing: the
driver (`synthgen/run/pipeline.py`) commits results in shard order, whichever executor ran
them. In-process runs call one worker; `--executor ray` runs one worker per Ray actor
(`synthgen/run/ray_executor.py`). Both send the engine the same batch for the same shard,
so a shard's rows do not depend on where it ran.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.tasks.brainstorm import Brainstormer, BrainstormReport
from synthgen.run.cells import CellStats, item_cell
from synthgen.corpus.readers import Document, Reject
from synthgen.engines import Embedder, Generator, load_embedder, load_generator
from synthgen.engines.threads import use_one_math_thread
from synthgen.errors import UserError
from synthgen.generation.stages import StageStats, run_stage
from synthgen.personas.library import Persona, PersonaIndex
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.recipe import Recipe
from synthgen.generation.rows import stable_int
from synthgen.tasks import WorkItem, build_tasks

PROMPT_RESERVE_TOKENS = 768  # template instructions and persona candidates around the document
MIN_DOCUMENT_TOKENS = 64


@dataclass
class ShardWork:
    """One unit of work: shard `number` of the corpus (documents may be empty: the last,
    standalone shard of corpus-free tasks). `token_limits` are per-document `corpus.max_tokens`."""

    number: int
    documents: list[Document]
    corpus_rejects: list[Reject] = field(default_factory=list)
    records_read: int = 0
    standalone: bool = False
    token_limits: dict[str, int] = field(default_factory=dict)


@dataclass
class ShardResult:
    """What a shard produced; the driver writes it and adds its counters to the run's."""

    number: int
    documents: list[Document]
    rows: list[dict[str, Any]]
    rejects: list[Reject]
    stages: dict[str, StageStats]
    records_read: int = 0
    standalone: bool = False
    documents_truncated: int = 0
    work_items: int = 0
    requests: int = 0
    completion_tokens: int = 0
    cells: dict[str, CellStats] = field(default_factory=dict)


class ShardWorker:
    """Generation for shards of one recipe. Engines may be passed in (in-process runs
    share the driver's); otherwise they are loaded on first use (a Ray actor's own).
    With `run.deterministic`, the process does its model math on one thread."""

    def __init__(self, recipe: Recipe, personas: list[Persona], prompts_root: str | Path,
                 generator: Generator | None = None, embedder: Embedder | None = None,
                 expected_requests: int | None = None):
        if recipe.run.deterministic:
            use_one_math_thread()
        self.recipe = recipe
        self.expected_requests = expected_requests  # picks eager or compiled mode on CPU
        self.personas = personas
        self.prompts = PromptLibrary(prompts_root)
        self.tasks = build_tasks(recipe)
        self._generator = generator
        self._embedder = embedder
        self._index: PersonaIndex | None = None

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = load_generator(self.recipe.generator, self.recipe.run.deterministic,
                                             self.expected_requests)
        return self._generator

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.recipe.embedder)
        return self._embedder

    def engine_stats(self) -> dict[str, Any]:
        """The generator's counters (`Generator.stats`); none before it is loaded."""
        return dict(self._generator.stats) if self._generator is not None else {}

    def restore(self, ideas: dict[str, Any]) -> None:
        """Give the tasks their brainstormed ideas (label sets, task definitions)."""
        for name, task_ideas in ideas.items():
            self.tasks[name].restore(task_ideas)

    def brainstorm(self, task: str) -> BrainstormReport:
        """The brainstorm step of one task (see synthgen/tasks/brainstorm.py)."""
        brainstormer = Brainstormer(self.generator, self.prompts, self.recipe.generator, self.personas,
                                    self.recipe.seed)
        return self.tasks[task].prepare(brainstormer)

    def run(self, work: ShardWork) -> ShardResult:
        """Fit the documents to the context, plan the work items, run every stage."""
        result = ShardResult(work.number, [], [], list(work.corpus_rejects), {}, work.records_read, work.standalone)
        documents = self._fit_to_context(work.documents, work.token_limits, result)
        items = self.plan(documents, result)
        if work.standalone:
            items += [item for task in self.tasks.values() for item in task.standalone_items()]
        result.work_items = len(items)
        result.documents = documents
        self._generate(items, result)
        generated = {row["id"] for row in result.rows}
        for item in items:
            cell = result.cells.setdefault(item_cell(item), CellStats())
            cell += CellStats(1, int(item.id in generated), *item.tokens)
        return result

    def _fit_to_context(self, documents: list[Document], limits: dict[str, int],
                        result: ShardResult) -> list[Document]:
        """Documents cut to the tokens their prompts can hold, flagged `truncated`: the
        generator's context minus the longest completion and a reserve for the template,
        or the corpus's `max_tokens` when smaller; cut by `Generator.fit_text`."""
        if not documents:
            return []
        generator = self.generator
        context = generator.context_length
        longest = max([t.config.max_tokens or self.recipe.generator.max_tokens for t in self.tasks.values()])
        budget = context - longest - PROMPT_RESERVE_TOKENS if context else None
        if budget is not None and budget < MIN_DOCUMENT_TOKENS:
            raise UserError(f"generator: a context of {context} tokens leaves {budget} for a document after "
                            f"max_tokens {longest}: raise engine_kwargs.max_model_len or lower max_tokens")
        fitted = []
        for document in documents:
            bounds = [x for x in (budget, limits.get(document.id)) if x]
            text = generator.fit_text(document.text, min(bounds)) if bounds else document.text
            if text != document.text:
                document = dataclasses.replace(document, text=text, truncated=True)
                result.documents_truncated += 1
            fitted.append(document)
        return fitted

    def plan(self, documents: list[Document], result: ShardResult) -> list[WorkItem]:
        """Work items for a shard: task, seed, persona candidates and sampled requirements.
        Each item samples its task, by weight, among the tasks that take its document."""
        if not documents:
            return []
        if self._index is None:
            self._index = PersonaIndex(self.personas, self.embedder)
        candidates = self._index.search([d.text for d in documents], self.recipe.personas.candidates)
        enabled = self.recipe.tasks.enabled()
        items = []
        for document, found in zip(documents, candidates):
            names = [name for name, task in self.tasks.items() if task.accepts(document)]
            if not names:
                result.rejects.append(Reject("plan", "no_task_for_document", document.id,
                                             {"language": document.language}))
                continue
            weights = [enabled[name].weight for name in names]
            for variant in range(self.recipe.queries_per_document):
                seed = stable_int(self.recipe.name, self.recipe.seed, document.id, variant)
                task = random.Random(seed).choices(names, weights=weights)[0]
                item = WorkItem(document, variant, task, seed, [p for p, _ in found],
                                id=self.tasks[task].item_id(document.id, variant))
                self.tasks[task].plan(item)
                items.append(item)
        return items

    def _generate(self, items: list[WorkItem], result: ShardResult) -> None:
        """Every stage of every task as one batched engine call; survivors become rows."""
        for task_name, task in self.tasks.items():
            live = [item for item in items if item.task == task_name]
            sampling = dataclasses.replace(self.recipe.generator,
                                           max_tokens=task.config.max_tokens or self.recipe.generator.max_tokens)
            for stage in task.stages:
                if not live:
                    break
                live, dropped, stats = run_stage(stage, task_name, live, self.generator, self.prompts, sampling)
                result.rejects += dropped
                result.stages.setdefault(f"{task_name}/{stage.name}", StageStats()).__iadd__(stats)
                result.requests += stats.requests
                result.completion_tokens += stats.completion_tokens
            result.rows += [task.to_row(item) for item in live]


def expected_requests(recipe: Recipe, documents: int) -> int:
    """The engine requests `documents` documents will make: queries per document times the
    stages of the tasks, averaged by the tasks' weights (an estimate: items sample their
    task among those that take the document, and stages drop items)."""
    enabled = recipe.tasks.enabled()
    tasks = build_tasks(recipe)
    weight = sum(config.weight for config in enabled.values()) or 1.0
    stages = sum(config.weight * len(tasks[name].stages) for name, config in enabled.items()) / weight
    return round(documents * recipe.queries_per_document * stages)

