"""`evaluate_run`: the four models of an eval, trained and scored the same way."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

from synthgen.errors import UserError
from synthgen.evaluation.baselines import inverse_cloze, run_documents
from synthgen.evaluation.benchmark import Benchmark, load_benchmark
from synthgen.evaluation.metrics import K, score_rankings, top_k
from synthgen.evaluation.results import RESULTS_PATH, EvalResult, ModelResult
from synthgen.evaluation.training import TrainingSettings, fine_tune, load_student, rows_dataset
from synthgen.shards.finished_run import FinishedRun
from synthgen.engines.models import public_model_id
from synthgen.run.output import atomic_write_bytes, output_errors
from synthgen.run.owned_folders import require_owned

DEFAULT_STUDENT = "builtin:all-minilm-l6-v2"
ENCODE_BATCH = 64


def evaluate_run(run_dir: str | Path, benchmark: str | Path | Benchmark, student: str = DEFAULT_STUDENT,
                 epochs: int = 1, batch_size: int = 32, max_rows: int | None = None, seed: int = 0,
                 learning_rate: float = 2e-5, num_negatives: int | None = None, tasks: list[str] | None = None,
                 device: str = "cpu", write: bool = True,
                 progress: Callable[[str], None] | None = None) -> EvalResult:
    """Fine-tune `student` on the run's rows and on the inverse cloze baseline, and score
    each model and the untrained student on `benchmark` (see `synthgen.evaluation`).

    `max_rows` caps each training source (a seeded random sample of the inverse cloze
    pairs and of the run's rows); `num_negatives` is the hard negatives per run row
    (default: the fewest any row has; rows with fewer are left out and counted); `tasks`
    keeps only rows of those task types. With `write`, the result goes to
    `RUN/eval/results.json` and the manifest's `eval` entry. `progress` gets a line as
    each model starts.
    """
    started = time.perf_counter()
    say = progress or (lambda line: None)
    run = FinishedRun.open(run_dir)
    if write:
        require_owned(run.folder.root, "run", "eval")
    if max_rows is not None and max_rows < 1:
        raise UserError(f"--max-rows must be >= 1, got {max_rows}")
    settings = TrainingSettings(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                                device=device)
    bench = benchmark if isinstance(benchmark, Benchmark) else load_benchmark(benchmark)
    rows, negatives, left_out = run_rows(run, tasks, num_negatives)
    cloze = inverse_cloze(run_documents(run.folder.root))
    rng = np.random.default_rng(seed)
    rows, cloze_rows = _cap(rows, max_rows, rng), _cap(cloze.rows, max_rows, rng)

    trainings: dict[str, dict[str, Any]] = {"base": {}}
    if cloze_rows:
        trainings["inverse_cloze"] = {"inverse_cloze": rows_dataset(cloze_rows)}
    trainings["synthgen"] = {"synthgen": rows_dataset(rows, negatives)}
    if cloze_rows:
        trainings["inverse_cloze+synthgen"] = {**trainings["inverse_cloze"], **trainings["synthgen"]}
    models = []
    for name, datasets_ in trainings.items():
        count = sum(len(d) for d in datasets_.values())
        say(f"{name}: " + (f"training on {count:,} rows, then scoring" if datasets_ else "scoring"))
        begun = time.perf_counter()
        model = fine_tune(student, datasets_, settings) if datasets_ else load_student(student, device)
        models.append(ModelResult(name, count, score_model(model, bench), round(time.perf_counter() - begun, 1)))
        del model
    if not cloze_rows:
        note = "not trained: no document gave an inverse cloze pair"
        models.insert(1, ModelResult("inverse_cloze", 0, None, 0.0, note))
        models.append(ModelResult("inverse_cloze+synthgen", 0, None, 0.0, note))

    result = EvalResult(
        run=str(run.folder.root), benchmark=bench.summary(), student=public_model_id(student),
        settings={**settings.to_dict(), "max_rows": max_rows, "num_negatives": negatives, "tasks": tasks or [],
                  "k": K},
        models=models,
        data={"synthgen": {"rows": len(rows), "left_out_too_few_negatives": left_out},
              "inverse_cloze": {"documents": len(cloze.rows) + sum(cloze.skipped.values()),
                                "pairs": len(cloze.rows), "rows": len(cloze_rows), "skipped": cloze.skipped}},
        machine=machine(device), seconds=round(time.perf_counter() - started, 1),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    if write:
        write_result(run, result)
    return result


def run_rows(run: FinishedRun, tasks: list[str] | None, num_negatives: int | None) -> tuple[list[dict], int, int]:
    """The run's final rows as {"anchor", "positive", "negatives"}, the negatives each
    keeps, and how many rows were left out for having fewer."""
    rows = []
    for batch in run.batches(["task", "query", "positive", "negatives"]):
        for row in batch.to_pylist():
            if not tasks or row.get("task") in tasks:
                rows.append({"anchor": row["query"], "positive": row["positive"],
                             "negatives": row.get("negatives") or []})
    if not rows:
        which = f" of task {', '.join(tasks)}" if tasks else ""
        raise UserError(f"{run.folder.data}: no rows{which} to train on (the eval fine-tunes on the run's final "
                        "rows): check `synthgen inspect` for what the gates dropped")
    if num_negatives is None:
        num_negatives = min(len(r["negatives"]) for r in rows)
    if num_negatives < 0:
        raise UserError(f"--num-negatives must be >= 0, got {num_negatives}")
    kept = [r for r in rows if len(r["negatives"]) >= num_negatives]
    if not kept:
        raise UserError(f"--num-negatives {num_negatives}: no row has that many hard negatives "
                        f"(the most any row has: {max(len(r['negatives']) for r in rows)})")
    return kept, num_negatives, len(rows) - len(kept)


def _cap(rows: list[dict], max_rows: int | None, rng: np.random.Generator) -> list[dict]:
    if max_rows is None or len(rows) <= max_rows:
        return rows
    return [rows[i] for i in np.sort(rng.choice(len(rows), max_rows, replace=False))]


def score_model(model: Any, benchmark: Benchmark) -> dict[str, dict[str, float]]:
    """nDCG@10, MRR@10 and Recall@10 of a sentence-transformers `model` on `benchmark`,
    overall and per query language (exact search over the whole corpus)."""
    queries = _encode(model, benchmark.query_texts, "query")
    documents = _encode(model, benchmark.corpus_texts, "document")
    found = top_k(queries, documents, K)
    rankings = {query: [benchmark.corpus_ids[i] for i in row] for query, row in zip(benchmark.query_ids, found)}
    return score_rankings(rankings, benchmark.qrels, dict(zip(benchmark.query_ids, benchmark.query_languages)))


def _encode(model: Any, texts: list[str], kind: str) -> np.ndarray:
    # encode_query / encode_document apply a model's own query and document prompts
    # (Qwen3-Embedding, E5); sentence-transformers before 5.0 has only encode.
    encode = getattr(model, f"encode_{kind}", model.encode)
    return np.asarray(encode(texts, batch_size=ENCODE_BATCH, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False), dtype=np.float32)


def machine(device: str) -> dict[str, Any]:
    """The CPU model (/proc/cpuinfo), its cores, the device and the versions that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for package in ("torch", "sentence-transformers", "transformers"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": usable, "device": device, **versions}


def write_result(run: FinishedRun, result: EvalResult) -> Path:
    """`RUN/eval/results.json`, and the summary in the manifest's `eval` entry."""
    path = run.folder.root / RESULTS_PATH
    with output_errors(path.parent):
        path.parent.mkdir(exist_ok=True)
        atomic_write_bytes(path, orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2))
        manifest = orjson.loads(run.folder.manifest.read_bytes())
        manifest["eval"] = result.manifest_entry()
        run.folder.write_manifest(manifest)
    return path
