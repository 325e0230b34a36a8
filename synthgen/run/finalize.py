"""From generated rows to final shards: quality gates, then hard-negative mining.

    generated/part-*.parquet ─┬─ global gates on (id, query, positive): exact dedup, near-dup
                              └─ per part and task: the per-row gates (leakage, language,
                                 cosine, consistency...), mining
                                 ──> data/train-*.parquet (+ rejects/gates-*.jsonl, mining.jsonl)

Which gates there are, and their order, is `synthgen/gates/registry.py`. Global gates see
every row but only its id, query and positive, so memory stays small. Per-part steps see
full rows and the corpus embeddings. Every run of this step starts
from `generated/` and rewrites `data/` and the gate rejects, so `synthgen filter` with
the same settings changes nothing (idempotent), and loosening a threshold brings rows back.
`data/` is replaced only once the new shards are complete.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow.parquet as pq

from synthgen.corpus.readers import Reject
from synthgen.engines.base import Embedder, Generator
from synthgen.engines.chunked import chunked
from synthgen.engines.threads import use_one_math_thread
from synthgen.gates import registry
from synthgen.gates.base import Gate, GateContext
from synthgen.gates.calibration import Calibration, calibrate
from synthgen.gates.contamination import ContaminationIndex
from synthgen.gates.cosine import CosineFilter
from synthgen.config.quality import MiningConfig
from synthgen.corpus.near_dup import NearDupConfig, dedupe_texts
from synthgen.mining.collisions import CollisionIndex
from synthgen.mining.hard_negatives import mine_negatives, mining_advice
from synthgen.errors import UserError
from synthgen.personas.library import load_personas
from synthgen.run.diversity import DiversityStats
from synthgen.judge import JudgeStep, build_judge
from synthgen.gates.language import recipe_languages
from synthgen.run.output import RejectLog, RunFolder, ShardWriter, replace_folder
from synthgen.config.languages import is_code_language
from synthgen.config.recipe import Recipe
from synthgen.generation.rows import rows_to_table, stable_int
from synthgen.tasks import Task, build_tasks


@dataclass
class Corpus:
    """The run's documents and their embeddings (the search space of mining/consistency)."""

    ids: list[str]
    texts: list[str]
    languages: list[str]
    embeddings: np.ndarray
    index: dict[str, int] = field(default_factory=dict)
    duplicates_of: dict[int, list[int]] = field(default_factory=dict)

    def context(self) -> GateContext:
        return GateContext(corpus_embeddings=self.embeddings, corpus_ids=self.ids, corpus_index=self.index)

    def subset(self, code: bool) -> "Corpus":
        """The code units (`code=True`) or the text documents: code queries are mined and
        ranked against code only, text queries against text only."""
        keep = [i for i, language in enumerate(self.languages) if is_code_language(language) == code]
        position = {old: new for new, old in enumerate(keep)}
        duplicates = {position[i]: [position[j] for j in self.duplicates_of.get(i, []) if j in position]
                      for i in keep}
        ids = [self.ids[i] for i in keep]
        return Corpus(ids, [self.texts[i] for i in keep], [self.languages[i] for i in keep],
                      self.embeddings[keep], {doc_id: n for n, doc_id in enumerate(ids)}, duplicates)


@dataclass
class FinalizeReport:
    rows_in: int = 0
    rows_out: int = 0
    removals: dict[str, int] = field(default_factory=dict)
    mining: dict[str, Any] = field(default_factory=dict)
    advice: list[str] = field(default_factory=list)
    shards: list[dict[str, Any]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    contamination: dict[str, Any] = field(default_factory=dict)
    collisions: dict[str, Any] = field(default_factory=dict)
    diversity: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)  # `[judge]`: synthgen/judge/
    embedding: dict[str, Any] = field(default_factory=dict)  # where the chunks ran: synthgen/engines/chunked.py


def task_gates(recipe: Recipe, task: Task) -> list[Gate]:
    """The per-row gates for one task's rows, in the order they apply
    (`synthgen.gates.registry.task_gates`)."""
    return registry.task_gates(recipe.gates, task, recipe_languages(recipe.languages))


class Finalizer:
    """Applies a recipe's gates and mining to a run folder's generated rows. Every text is
    embedded in fixed chunks (`synthgen/engines/chunked.py`): pass a `RayEmbedder` to run
    them on a cluster, any other embedder runs them here, with the same vectors."""

    def __init__(self, folder: RunFolder, recipe: Recipe, embedder: Embedder, judge_generator: Generator | None = None):
        if recipe.run.deterministic:  # scores of the same rows, bit for bit, in every process
            use_one_math_thread()
        self.folder, self.recipe, self.embedder = folder, recipe, chunked(embedder, recipe.embedder.chunk_size)
        self.judge: JudgeStep | None = None
        if recipe.judge.enabled:  # the engine loads on the first pair the cache lacks
            self.judge = JudgeStep(recipe.judge, build_judge(recipe.judge, folder.root, judge_generator),
                                   recipe.mining.min_negatives if recipe.mining.enabled else 0)
        self.tasks = build_tasks(recipe)
        self.gates = {name: task_gates(recipe, task) for name, task in self.tasks.items()}
        self.report = FinalizeReport()
        self._calibrations: dict[bool, Calibration] = {}

    def run(self) -> FinalizeReport:
        """Gates and mining over the generated parts into a new `data/` and new gate and
        mining rejects, both written aside and swapped in at the end: a pass that dies
        half-way leaves the previous `data/` and rejects as they were."""
        sources = self.folder.parts()
        staged_rejects = _fresh_folder(self.folder.root / ".rejects.tmp")
        rejects = RejectLog(staged_rejects)
        notes = RejectLog(staged_rejects)  # the judge's dropped negatives and relabeled rows: not row removals
        corpus = self._load_corpus()
        dropped = self._global_gates(sources)
        self._collision_log = RejectLog(staged_rejects)
        self._open_collisions(corpus)
        self._diversity = DiversityStats(_persona_texts(self.recipe))
        staging = _fresh_folder(self.folder.root / ".data.tmp")
        writer = ShardWriter(staging, self.recipe.run.rows_per_file)
        for number, rows in enumerate(_read_rows(sources)):
            self.report.rows_in += len(rows)
            rows = self._drop_global(rows, dropped, rejects)
            rows = self._unknown_tasks(rows, rejects)
            kept: list[dict[str, Any]] = []
            for task_name, task_rows in _by_task(rows):
                task = self.tasks[task_name]
                scope = corpus.subset(code=task.takes_code)
                task_rows, query_embeddings = self._per_row_gates(task, task_rows, scope, rejects)
                gated = task_rows
                if task.positive_is_document:
                    seed = stable_int(self.recipe.seed, self.recipe.mining.seed, "mining", number, task_name)
                    task_rows = self._mine(task_rows, query_embeddings, scope, rejects, seed)
                    task_rows = self._judge(task_rows, rejects, notes)
                self._group(task_rows)
                self._diversity.add(task_rows, _aligned(gated, query_embeddings, task_rows))
                kept += task_rows
            rows = kept
            writer.add(rows_to_table(rows))
            self.report.rows_out += len(rows)
        self.report.shards = writer.close()
        rejects.commit()
        replace_folder(staging, self.folder.data)
        _replace_finalize_rejects(staged_rejects, self.folder.rejects)
        self.report.removals = dict(sorted(rejects.counts.items()))
        self._close_collisions()
        self.report.diversity = self._diversity.result()
        if self.judge is not None:
            self.report.judge = self.judge.report()
        self.report.embedding = self.embedder.stats()
        return self.report

    def _open_collisions(self, corpus: Corpus) -> None:
        """The cross-row collision index over the positives of the rows the global gates
        kept and the corpus documents (`synthgen/mining/collisions.py`)."""
        self._collisions: CollisionIndex | None = None
        self._group_sizes: dict[str, int] = {}
        self.report.collisions = {}
        if not self.recipe.collisions.enabled:
            return
        near = self.recipe.gates.near_dup
        config = NearDupConfig(threshold=near.threshold, ngram=near.ngram)
        self._collisions = CollisionIndex(self._live_positives, corpus.texts, config)
        self.report.collisions = {"action": self.recipe.collisions.action, "negatives_checked": 0,
                                  "negatives_colliding": 0, "negatives_dropped": 0,
                                  "rows_with_colliding_negatives": 0}

    def _group(self, rows: list[dict]) -> None:
        """Each row's `group` (its positive's duplicate cluster)."""
        if self._collisions is None:
            return
        for row in rows:
            row["group"] = self._collisions.group(row["positive"])
            self._group_sizes[row["group"]] = self._group_sizes.get(row["group"], 0) + 1

    def _check_collisions(self, row: dict) -> None:
        """Flag (or drop) the row's mined negatives that copy some row's positive."""
        if self._collisions is None:
            return
        groups = [self._collisions.colliding_group(n) for n in row["negatives"]]
        counts = self.report.collisions
        colliding = sum(g is not None for g in groups)
        counts["negatives_checked"] += len(groups)
        counts["negatives_colliding"] += colliding
        counts["rows_with_colliding_negatives"] += bool(colliding)
        if self.recipe.collisions.action == "drop" and colliding:
            self._collision_log.write(
                Reject("mining/collisions", "collides_with_positive", row["source_id"],
                       {"row_id": row["id"], "query": row["query"], "negative": negative, "negative_score": score,
                        "group": group})
                for negative, score, group in zip(row["negatives"], row["negative_scores"], groups) if group)
            keep = [g is None for g in groups]
            row["negatives"] = [n for n, k in zip(row["negatives"], keep) if k]
            row["negative_scores"] = [s for s, k in zip(row["negative_scores"], keep) if k]
            groups = [None] * len(row["negatives"])
            counts["negatives_dropped"] += colliding
        row["negative_groups"] = groups

    def _close_collisions(self) -> None:
        if self._collisions is None:
            return
        self.report.collisions["groups"] = len(self._group_sizes)
        self.report.collisions["rows_in_shared_groups"] = sum(n for n in self._group_sizes.values() if n > 1)

    def _judge(self, rows: list[dict], rejects: RejectLog, notes: RejectLog) -> list[dict]:
        """The judge's scores and rules on mined rows (`[judge]`), if enabled."""
        if self.judge is None or not rows:
            return rows
        result = self.judge.run(rows)
        rejects.write(result.row_rejects)
        notes.write(result.notes)
        return result.kept

    def _load_corpus(self) -> Corpus:
        ids, texts, languages = [], [], []
        for path in self.folder.document_parts():
            table = pq.read_table(path, columns=["id", "text", "language"])
            ids += table.column("id").to_pylist()
            texts += table.column("text").to_pylist()
            languages += table.column("language").to_pylist()
        embeddings = self.embedder.embed(texts, kind="document")
        corpus = Corpus(ids, texts, languages, embeddings, {doc_id: i for i, doc_id in enumerate(ids)})
        corpus.duplicates_of = _document_clusters(texts, self.recipe)
        return corpus

    def _global_gates(self, sources: list[Path]) -> dict[str, tuple[str, dict[str, Any]]]:
        """{row id: (reason, detail)} of the gates over all rows: contamination, exact and near dedup."""
        ids, queries, positives = [], [], []
        for path in sources:
            table = pq.read_table(path, columns=["id", "query", "positive"], read_dictionary=["positive"])
            ids += table.column("id").to_pylist()
            queries += table.column("query").to_pylist()
            positives += _shared_strings(table.column("positive"))
        dropped: dict[str, tuple[str, dict[str, Any]]] = {}
        if self.recipe.contamination.against:  # first: an overlapping row is named as such, not as a duplicate
            index = ContaminationIndex(self.recipe.contamination)
            found = index.check(queries, positives)
            for i, match in found.items():
                dropped[ids[i]] = ("contamination/contaminated", match.detail())
            self.report.contamination = index.summary(len(found))
        live = [i for i in range(len(ids)) if ids[i] not in dropped]
        found_rows = registry.all_row_drops(self.recipe.gates, [ids[i] for i in live], [queries[i] for i in live],
                                            [positives[i] for i in live])
        dropped.update({ids[live[j]]: drop for j, drop in found_rows.items()})
        self._live_positives = [positives[i] for i in range(len(ids)) if ids[i] not in dropped]
        return dropped

    def _drop_global(self, rows: list[dict], dropped: dict, rejects: RejectLog) -> list[dict]:
        kept = []
        for row in rows:
            if row["id"] in dropped:
                gate_reason, detail = dropped[row["id"]]
                gate, reason = gate_reason.split("/")
                rejects.write([_reject(f"gates/{gate}", reason, row, detail)])
            else:
                kept.append(row)
        return kept

    def _unknown_tasks(self, rows: list[dict], rejects: RejectLog) -> list[dict]:
        """Rows of a task the recipe no longer enables cannot be gated as their task: dropped."""
        unknown = [row for row in rows if row["task"] not in self.tasks]
        rejects.write(_reject("gates", "task_not_in_recipe", row, {"task": row["task"]}) for row in unknown)
        return [row for row in rows if row["task"] in self.tasks]

    def _score(self, task: Task, rows: list[dict], corpus: Corpus, context: GateContext) -> None:
        """Query vectors, cosine(query, positive) and, for generated negatives, their cosines."""
        context.query_embeddings = self.embedder.embed([r["query"] for r in rows], kind="query")
        if task.positive_is_document:
            positives = corpus.embeddings[np.array([corpus.index[r["source_id"]] for r in rows], dtype=np.int64)]
        else:
            positives = self.embedder.embed([r["positive"] for r in rows], kind="document")
        context.positive_scores = np.einsum("ij,ij->i", context.query_embeddings, positives)
        for row, score in zip(rows, context.positive_scores):
            row["positive_score"] = float(score)
        if task.positive_is_document:
            return
        owners = [i for i, row in enumerate(rows) for _ in row["negatives"]]
        vectors = self.embedder.embed([n for row in rows for n in row["negatives"]], kind="document")
        scores = np.einsum("ij,ij->i", context.query_embeddings[np.array(owners, dtype=np.int64)], vectors)
        for row in rows:
            row["negative_scores"] = []
        for owner, score in zip(owners, scores):
            rows[owner]["negative_scores"].append(float(score))

    def _per_row_gates(self, task: Task, rows: list[dict], corpus: Corpus,
                       rejects: RejectLog) -> tuple[list[dict], np.ndarray | None]:
        """Score one task's rows, run its gates in order; survivors and their query vectors."""
        if not rows:
            return rows, None
        context = corpus.context()
        if any(isinstance(gate, CosineFilter) and gate.fixed is None for gate in self.gates[task.name]):
            context.calibration = self._calibration(corpus, task.takes_code)
        context.embedder = self.embedder
        self._score(task, rows, corpus, context)
        for gate in self.gates[task.name]:
            if not rows:
                break
            verdict = gate.check(rows, context)
            keep = np.array([not reason for reason in verdict.reasons], dtype=bool)
            rejects.write(_reject(f"gates/{gate.name}", reason, row, verdict.scores_of(i))
                          for i, (row, reason) in enumerate(zip(rows, verdict.reasons)) if reason)
            rows = [row for row, k in zip(rows, keep) if k]
            context.query_embeddings = context.query_embeddings[keep]
            context.positive_scores = context.positive_scores[keep]
        return rows, context.query_embeddings

    def _calibration(self, corpus: Corpus, code: bool) -> Calibration:
        """The calibrated cosine thresholds of the text documents (or the code units),
        computed once per finalize pass and recorded in the report."""
        if code not in self._calibrations:
            calibration = calibrate(self.embedder, corpus.texts, corpus.languages,
                                    self.recipe.gates.cosine.calibration_quantile)
            self._calibrations[code] = calibration
            self.report.calibration["code" if code else "text"] = calibration.to_dict()
        return self._calibrations[code]

    def _mine(self, rows: list[dict], query_embeddings: np.ndarray | None, corpus: Corpus, rejects: RejectLog,
              seed: int) -> list[dict]:
        """Hard negatives for each row; rows with fewer than `min_negatives` are rejected."""
        settings = self.recipe.mining
        if not settings.enabled or not rows:
            return rows
        fields = {f.name: getattr(settings, f.name) for f in dataclasses.fields(MiningConfig)}
        config = MiningConfig(**{**fields, "seed": seed})
        positives = [corpus.index[r["source_id"]] for r in rows]
        exclude = [corpus.duplicates_of.get(p, []) for p in positives]
        result = mine_negatives(query_embeddings, corpus.embeddings, positives, config, exclude)
        self.report.mining = _merge_mining_reports(self.report.mining, result.report)
        self.report.advice = mining_advice(self.report.mining)
        kept = []
        for row, negatives, scores in zip(rows, result.negatives, result.negative_scores):
            row["negatives"] = [corpus.texts[j] for j in negatives]
            row["negative_scores"] = [float(s) for s in scores]
            self._check_collisions(row)
            if len(row["negatives"]) < settings.min_negatives:
                rejects.write([_reject("mining", "too_few_negatives", row, {"found": len(row["negatives"])})])
            else:
                kept.append(row)
        return kept


def _aligned(gated: list[dict], vectors: np.ndarray | None, kept: list[dict]) -> np.ndarray | None:
    """The query vectors of `kept` (a subset of `gated` by row id, same order)."""
    if vectors is None or len(vectors) != len(gated):
        return None
    position = {row["id"]: i for i, row in enumerate(gated)}  # by id: the judge may replace a row's dict
    return vectors[np.array([position[row["id"]] for row in kept], dtype=np.int64)] if kept else vectors[:0]


def _persona_texts(recipe: Recipe) -> list[str] | None:
    """The persona library's texts (for coverage), or None where it cannot be read here."""
    try:
        return [p.persona for p in load_personas(recipe.personas.libraries)]
    except UserError:
        return None


def _document_clusters(texts: list[str], recipe: Recipe) -> dict[int, list[int]]:
    """For each document, the other documents that are exact or near duplicates of it:
    they are never mined as its negatives (they would be false negatives)."""
    config = NearDupConfig(threshold=recipe.gates.near_dup.threshold, ngram=recipe.gates.near_dup.ngram)
    duplicates = dedupe_texts(texts, config)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(duplicates[i][1] if i in duplicates else i, []).append(i)
    clusters: dict[int, list[int]] = {}
    for members in groups.values():
        for i in members:
            clusters[i] = [m for m in members if m != i]
    return clusters


def _reject(step: str, reason: str, row: dict[str, Any], detail: dict[str, Any]) -> Reject:
    return Reject(step, reason, row["source_id"], {"id": row["id"], "query": row["query"],
                                                   "query_language": row["query_language"], **detail})


def _by_task(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Rows grouped by task, tasks in order of first appearance, rows in their order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["task"], []).append(row)
    return list(groups.items())


def _shared_strings(column) -> list[str]:
    """A dictionary-encoded column as a list in which equal values are one string object:
    a document is the positive of all its queries, so 1M rows hold ~1/k of the text."""
    values: list[str] = []
    for chunk in column.chunks:
        dictionary = chunk.dictionary.to_pylist()
        values += [None if i is None else dictionary[i] for i in chunk.indices.to_pylist()]
    return values


def _read_rows(paths: list[Path]) -> Iterator[list[dict[str, Any]]]:
    for path in paths:
        yield pq.read_table(path).to_pylist()


_SUMMED = ("queries", "candidates", "negatives_found", "queries_with_fewer_than_num_negatives",
           "queries_with_no_negatives")


def _merge_mining_reports(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """One report for all parts: counts add up, settings (config, corpus size) are the part's."""
    merged = {**part}
    for key in _SUMMED:
        merged[key] = total.get(key, 0) + part[key]
    skipped = total.get("candidates_skipped_by_rule", {})
    merged["candidates_skipped_by_rule"] = {rule: skipped.get(rule, 0) + count
                                            for rule, count in part["candidates_skipped_by_rule"].items()}
    merged["config"] = {k: v for k, v in part["config"].items() if k != "seed"}
    return merged


def _fresh_folder(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def _replace_finalize_rejects(staged: Path, rejects: Path) -> None:
    """The new gate and mining reject files in place of the old ones, each replaced in one
    rename; old ones this pass did not write (a gate now off) are removed after."""
    written = {path.name for path in staged.glob("*.jsonl")}
    for name in sorted(written):
        os.replace(staged / name, rejects / name)
    for stale in [*rejects.glob("gates-*.jsonl"), rejects / "gates.jsonl", rejects / "mining.jsonl",
                  rejects / "mining-collisions.jsonl",
                  *rejects.glob("judge*.jsonl")]:
        if stale.name not in written:
            stale.unlink(missing_ok=True)
    staged.rmdir()
