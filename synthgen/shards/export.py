"""Exports of a run's rows in the layouts trainers read directly.

- `sentence-transformers`: Parquet with columns (anchor, positive, negative_1..negative_n).
  sentence-transformers matches dataset columns to a loss by order, so this is what
  `MultipleNegativesRankingLoss` (InfoNCE with in-batch and hard negatives) consumes.
- `flagembedding`: JSON lines {"query", "pos": [..], "neg": [..], "pos_scores", "neg_scores",
  "prompt"}, the fine-tuning format of FlagEmbedding (BGE) and of ms-swift's embedding tasks.

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

FORMATS = ("sentence-transformers", "flagembedding")
INSTRUCTION_FORMATS = ("none", "qwen3")


@dataclass(frozen=True)
class ExportReport:
    path: Path
    rows: int
    skipped_too_few_negatives: int
    num_negatives: int


def export_run(run_dir: str | Path, out: str | Path, fmt: str, num_negatives: int | None = None,
               tasks: list[str] | None = None, instruction_format: str = "none") -> ExportReport:
    """Write the run's final rows in format `fmt` under `out`."""
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
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
    out = Path(out)
    claim_folder(out, "export", "--out")  # a folder of the user's is never written into
    with output_errors(out):
        if fmt == "sentence-transformers":
            path = out / "train.parquet"
            write_parquet(path, _sentence_transformers_table(rows, num_negatives))
        else:
            path = out / "train.jsonl"
            atomic_write_bytes(path, b"".join(orjson.dumps(_flag_record(r, num_negatives)) + b"\n" for r in rows))
    return ExportReport(path, len(rows), keep.count(False), num_negatives)


def _sentence_transformers_table(rows: list[dict], n: int) -> pa.Table:
    columns = {"anchor": [r["query"] for r in rows], "positive": [r["positive"] for r in rows]}
    for i in range(n):
        columns[f"negative_{i + 1}"] = [r["negatives"][i] for r in rows]
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _flag_record(row: dict, n: int) -> dict:
    return {"query": row["query"], "pos": [row["positive"]], "neg": row["negatives"][:n],
            "pos_scores": [row["positive_score"]], "neg_scores": row["negative_scores"][:n],
            "prompt": row["instruction"] or ""}
