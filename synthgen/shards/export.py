"""Exports of a run's rows in the layouts trainers read directly.

- `sentence-transformers`: Parquet with columns (anchor, positive, negative_1..negative_n).
  sentence-transformers matches dataset columns to a loss by order, so this is what
  `MultipleNegativesRankingLoss` (InfoNCE with in-batch and hard negatives) consumes.
- `flagembedding`: JSON lines {"query", "pos": [..], "neg": [..], "pos_scores", "neg_scores",
  "prompt"}, the fine-tuning format of FlagEmbedding (BGE) and of ms-swift's embedding tasks;
  the scores are the chosen teacher's (`teacher`, default the recipe's embedder).
- `sentence-transformers-distill`: Parquet for knowledge distillation, one row per (query,
  positive, negative) triple: columns (query, positive, negative, label). With `label =
  "margin"` (default) the label is the teacher's margin score(query, positive) -
  score(query, negative), what `MarginMSELoss` (Hofstaetter et al. 2020, arXiv 2010.02666)
  regresses; with `label = "scores"` it is the list [score(query, positive),
  score(query, negative)], which `MarginMSELoss` and `DistillKLDivLoss` both read. One row
  per triple rather than (query, positive, negative_1..n) with a list label: every row has the
  same columns whatever its number of negatives, and a row with k negatives gives k triples.
  Rows without teacher scores are left out and counted.

Teachers: `teacher_scores(row)` maps each teacher that scored a row to (positive score,
negative scores). Today that is `embedder` (the row's `positive_score`/`negative_scores`);
a row holding a `teacher_scores` mapping ({teacher: {"positive": x, "negatives": [..]}},
e.g. a cross-encoder's or a judge's) adds its teachers under their names.

Rows with fewer than `num_negatives` hard negatives are left out and counted. `tasks`
keeps only some task types of a mixed run. `instruction_format = "qwen3"` writes each
query as instruction-aware embedders train on it, `Instruct: {instruction}\nQuery: {query}`
(Qwen3 Embedding, E5-mistral), with the row's own instruction; "none" writes it bare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgen.errors import UserError
from synthgen.run.output import RunFolder, atomic_write_bytes, output_errors, write_parquet
from synthgen.run.owned_folders import claim_folder
from synthgen.generation.rows import instructed_query

FORMATS = ("sentence-transformers", "flagembedding", "sentence-transformers-distill")
LABELS = ("margin", "scores")
JUDGE_TEACHER = "judge"
EMBEDDER_TEACHER = "embedder"
INSTRUCTION_FORMATS = ("none", "qwen3")


@dataclass(frozen=True)
class ExportReport:
    path: Path
    rows: int
    skipped_too_few_negatives: int
    num_negatives: int
    skipped_no_teacher_scores: int = 0
    teacher: str = EMBEDDER_TEACHER


def teacher_scores(row: dict) -> dict[str, tuple[float | None, list[float]]]:
    """{teacher: (score of the positive, scores of the negatives, best first)} for a row."""
    scores = {EMBEDDER_TEACHER: (row.get("positive_score"), list(row.get("negative_scores") or []))}
    if row.get("judge_positive_score") is not None:  # `[judge]` ran: its p(relevant) (synthgen/judge/)
        scores[JUDGE_TEACHER] = (row["judge_positive_score"], list(row.get("judge_negative_scores") or []))
    for name, entry in (row.get("teacher_scores") or {}).items():
        if isinstance(entry, dict):
            scores[name] = (entry.get("positive"), list(entry.get("negatives") or []))
    return scores


def export_run(run_dir: str | Path, out: str | Path, fmt: str, num_negatives: int | None = None,
               tasks: list[str] | None = None, instruction_format: str = "none", teacher: str = EMBEDDER_TEACHER,
               label: str = "margin") -> ExportReport:
    """Write the run's final rows in format `fmt` under `out`."""
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if label not in LABELS:
        raise UserError(f"--label must be one of {', '.join(LABELS)}, got {label!r}")
    if instruction_format not in INSTRUCTION_FORMATS:
        raise UserError(f"--instruction-format must be one of {', '.join(INSTRUCTION_FORMATS)}, "
                        f"got {instruction_format!r}")
    folder = RunFolder(run_dir)
    files = sorted(folder.data.glob("*.parquet"))
    if not files:
        raise UserError(f"{folder.data} holds no shards: is {run_dir} a finished synthgen run?")
    table = pq.read_table(files)
    if tasks:
        table = table.filter(pc.is_in(table.column("task"), pa.array(tasks, pa.string())))
    if instruction_format == "qwen3":
        queries = [instructed_query(i or "", q) for i, q in zip(table.column("instruction").to_pylist(),
                                                               table.column("query").to_pylist())]
        table = table.set_column(table.schema.get_field_index("query"), "query", pa.array(queries, pa.string()))
    negatives = table.column("negatives").to_pylist()
    if num_negatives is None:
        num_negatives = min((len(n) for n in negatives), default=0)
    if num_negatives < 0:
        raise UserError(f"--num-negatives must be >= 0, got {num_negatives}")
    keep = [len(n) >= num_negatives for n in negatives]
    rows = table.filter(pa.array(keep)).to_pylist()
    known = {t for r in rows for t in teacher_scores(r)} or {EMBEDDER_TEACHER}
    if teacher not in known:
        raise UserError(f"--teacher {teacher!r}: no row holds that teacher's scores (known: {', '.join(sorted(known))})")
    unscored = 0
    if fmt == "sentence-transformers-distill":
        scored = [r for r in rows if _scored(r, teacher, num_negatives)]
        unscored, rows = len(rows) - len(scored), scored
    out = Path(out)
    claim_folder(out, "export", "--out")  # a folder of the user's is never written into
    with output_errors(out):
        if fmt == "sentence-transformers":
            path = out / "train.parquet"
            write_parquet(path, _sentence_transformers_table(rows, num_negatives))
        elif fmt == "sentence-transformers-distill":
            path = out / "train.parquet"
            write_parquet(path, _distill_table(rows, num_negatives, teacher, label))
        else:
            path = out / "train.jsonl"
            atomic_write_bytes(path, b"".join(orjson.dumps(_flag_record(r, num_negatives, teacher)) + b"\n"
                                              for r in rows))
    return ExportReport(path, len(rows), keep.count(False), num_negatives, unscored, teacher)


def _scored(row: dict, teacher: str, n: int) -> bool:
    """The row has `teacher`'s score for its positive and for its first `n` negatives."""
    positive, negatives = teacher_scores(row).get(teacher, (None, []))
    return positive is not None and len(negatives) >= n and all(s is not None for s in negatives[:n])


def _distill_table(rows: list[dict], n: int, teacher: str, label: str) -> pa.Table:
    queries, positives, negatives, labels = [], [], [], []
    for row in rows:
        positive_score, negative_scores = teacher_scores(row)[teacher]
        for negative, score in zip(row["negatives"][:n], negative_scores[:n]):
            queries.append(row["query"])
            positives.append(row["positive"])
            negatives.append(negative)
            labels.append(positive_score - score if label == "margin" else [positive_score, score])
    label_type = pa.float32() if label == "margin" else pa.list_(pa.float32())
    return pa.table({"query": pa.array(queries, pa.string()), "positive": pa.array(positives, pa.string()),
                     "negative": pa.array(negatives, pa.string()), "label": pa.array(labels, label_type)})


def _sentence_transformers_table(rows: list[dict], n: int) -> pa.Table:
    columns = {"anchor": [r["query"] for r in rows], "positive": [r["positive"] for r in rows]}
    for i in range(n):
        columns[f"negative_{i + 1}"] = [r["negatives"][i] for r in rows]
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _flag_record(row: dict, n: int, teacher: str = EMBEDDER_TEACHER) -> dict:
    positive_score, negative_scores = teacher_scores(row).get(teacher, (None, []))
    return {"query": row["query"], "pos": [row["positive"]], "neg": row["negatives"][:n],
            "pos_scores": [positive_score], "neg_scores": negative_scores[:n],
            "prompt": row["instruction"] or ""}
