"""`synthgen run`, `merge`, `render`, `filter`, `mine`, `judge`, `calibrate`, `export`,
`inspect`, `report`, `publish` and `eval`: thin wrappers over the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import orjson
import typer

from synthgen.cli.app import app, user_errors


def _executor_option(what: str):
    return typer.Option("local", "--executor", help=f"Where {what}: local or ray.")


def _address_option():
    return typer.Option(None, "--address", help="Ray cluster address (--executor ray; default: Ray in this process).")


_EMBEDS = "the gates and mining embed"


@app.command()
@user_errors
def run(
    recipe: Path = typer.Argument(..., help="The recipe TOML file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: the recipe's `output`)."),
    limit_docs: Optional[int] = typer.Option(None, "--limit-docs", min=1, help="Use only the first N documents."),
    set_: list[str] = typer.Option([], "--set", help="Override a recipe key: --set generator.temperature=0.5"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start over, replacing a run in the output folder."),
    force: bool = typer.Option(False, "--force", help="Resume even though the recipe or a template changed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    executor: str = _executor_option("shards are generated and the gates and mining embed"),
    address: Optional[str] = _address_option(),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: generate only shards I mod N (job arrays); "
                                        "join the N folders with `synthgen merge`."),
    ideas_from: Optional[Path] = typer.Option(None, "--ideas-from",
                                              help="Use the brainstormed ideas of the run in DIR (shard 0 of "
                                                   "a job array) instead of brainstorming."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show vLLM's and torch's own messages here (else in OUT/logs/engine.log)."),
) -> None:
    """Run a recipe: generate rows and write Parquet shards, rejects and a manifest.

    A run interrupted for any reason (a crash, a kill, a lost server) resumes where it
    stopped when the same command is run again on the same output folder.

    Example: synthgen run recipes/demo.toml --limit-docs 20 --set generator.temperature=0.5

    Example (cluster): synthgen run recipe.toml --executor ray --address HEAD_IP:6379
    """
    from synthgen.run.executors import ShardSpec, check_executor
    from synthgen.run.pipeline import Pipeline
    from synthgen.run.progress import summary_lines
    from synthgen.config.loader import load_recipe

    loaded = load_recipe(recipe, set_)
    target = out or Path(loaded.output)
    check_executor(executor)
    spec = ShardSpec.parse(shard) if shard else None
    manifest = Pipeline(loaded, target, show_progress=not quiet, executor=executor, ray_address=address,
                        shard=spec, engine_log=not verbose, ideas_from=ideas_from).run(limit_docs=limit_docs, overwrite=overwrite,
                                                                force=force)
    if spec:
        typer.echo(f"shard {spec}: generated {manifest['counts']['generated_rows']} rows in {target / 'generated'}; "
                   f"join all {spec.count} shard folders with `synthgen merge DIR... --out OUT`")
        return
    for line in summary_lines(manifest):
        typer.echo(line, err=True)
    if not verbose:
        typer.echo(f"engine messages: {target / 'logs' / 'engine.log'}", err=True)
    typer.echo(f"wrote {manifest['counts']['rows']} rows to {target / 'data'}")


@app.command()
@user_errors
def merge(
    runs: list[Path] = typer.Argument(..., help="The folders of the shard runs (--shard 0/N ... N-1/N)."),
    out: Path = typer.Option(..., "--out", help="Folder of the merged run."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a run in --out."),
) -> None:
    """Join shard runs into one run: copy their parts, then dedup, gate and mine over all.

    Example: synthgen merge outputs/part-0 outputs/part-1 --out outputs/full
    """
    from synthgen.run.merge import merge_runs
    from synthgen.run.progress import summary_lines

    manifest = merge_runs(runs, out, overwrite=overwrite)
    for line in summary_lines(manifest):
        typer.echo(line, err=True)
    typer.echo(f"merged {len(runs)} shard runs: wrote {manifest['counts']['rows']} rows to {out / 'data'}")


@app.command()
@user_errors
def render(
    recipe: Path = typer.Argument(..., help="The recipe TOML file."),
    doc: int = typer.Option(0, "--doc", help="Index of the document in the corpus (0-based, usable ones)."),
    set_: list[str] = typer.Option([], "--set", help="Override a recipe key."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Print the exact prompts one document gets, without loading the generator.

    Example: synthgen render recipes/demo.toml --doc 3
    """
    from synthgen.config.loader import load_recipe
    from synthgen.run.preview import render_prompts
    from synthgen.run.preview import prompt_lines

    rendered = render_prompts(load_recipe(recipe, set_), doc)
    if as_json:
        sys.stdout.write(orjson.dumps(rendered, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for line in prompt_lines(rendered):
        typer.echo(line)


@app.command("filter")
@user_errors
def filter_(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    set_: list[str] = typer.Option([], "--set", help="Change a gate: --set gates.cosine.min_score=0.6, "
                                   "or the contamination check: --set 'contamination.against=[\"test.jsonl\"]'"),
    executor: str = _executor_option(_EMBEDS),
    address: Optional[str] = _address_option(),
) -> None:
    """Re-run the quality gates, the contamination check and mining on a run's generated rows; no engine needed.

    Starts from generated/ each time, so the same settings give the same shards, and a
    looser threshold brings rows back.

    Example: synthgen filter outputs/demo --set gates.cosine.min_score=0.6 --set gates.language.enabled=false
    """
    from synthgen.run.refinalize import refinalize
    from synthgen.shards.finished_run import FinishedRun

    allowed = ("gates.", "contamination.", "collisions.")
    for line in refinalize(FinishedRun.open(run_dir), set_, allowed, command="filter", executor=executor,
                           address=address).lines():
        typer.echo(line)


@app.command()
@user_errors
def mine(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    set_: list[str] = typer.Option([], "--set", help="Change a mining knob: --set mining.num_negatives=5"),
    executor: str = _executor_option(_EMBEDS),
    address: Optional[str] = _address_option(),
) -> None:
    """Re-mine hard negatives for a run with new settings; no engine needed.

    Knobs as in sentence-transformers' mine_hard_negatives: num_negatives, range_min,
    range_max, max_score, min_score, absolute_margin, relative_margin, sampling_strategy.

    Example: synthgen mine outputs/demo --set mining.num_negatives=5 --set mining.range_max=50
    """
    from synthgen.run.refinalize import refinalize
    from synthgen.shards.finished_run import FinishedRun

    for line in refinalize(FinishedRun.open(run_dir), set_, ("mining.", "collisions."), command="mine",
                           executor=executor, address=address).lines():
        typer.echo(line)


@app.command()
@user_errors
def judge(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    set_: list[str] = typer.Option([], "--set", help="Change a judge key: --set judge.relevant_threshold=0.8"),
    executor: str = _executor_option(_EMBEDS),
    address: Optional[str] = _address_option(),
) -> None:
    """Score mined rows with a judge (LLM or cross-encoder): drop false negatives, relabel or drop rows.

    A negative the judge finds relevant is dropped; a row whose best negative beats its
    positive is relabeled (or dropped).

    Re-runs the gates and mining from generated/ first, like filter and mine; scores are
    cached in RUN_DIR/judge/cache.jsonl, so a rerun makes no engine requests.

    Example: synthgen judge outputs/demo --set judge.on_better_negative=drop
    """
    from synthgen.run.refinalize import refinalize
    from synthgen.shards.finished_run import FinishedRun

    for line in refinalize(FinishedRun.open(run_dir), ["judge.enabled=true", *set_], ("judge.",), command="judge",
                           executor=executor, address=address).lines():
        typer.echo(line)


@app.command("calibrate")
@user_errors
def calibrate_(
    source: Path = typer.Argument(..., help="A run folder, or a recipe (its corpus)."),
    benchmark: Optional[Path] = typer.Option(None, "--benchmark",
                                             help="Labeled retrieval pairs (the formats `synthgen eval` reads)."),
    limit_docs: Optional[int] = typer.Option(None, "--limit-docs", min=1, help="Use only the first N documents."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
) -> None:
    """Show what each cosine-gate setting keeps of known-good pairs and of generated rows.

    Known-good pairs are --benchmark's labeled pairs, else the documents' inverse-cloze pairs.

    Example: synthgen calibrate outputs/demo --benchmark outputs/quality/benchmark
    """
    from synthgen.evaluation.calibrate import calibration_report, format_report

    report = calibration_report(source, benchmark, limit_docs=limit_docs)
    if as_json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for line in format_report(report):
        typer.echo(line)


@app.command()
@user_errors
def export(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    out: Path = typer.Option(..., "--out", help="Where to write the export."),
    fmt: str = typer.Option("sentence-transformers", "--format",
                            help="sentence-transformers (Parquet anchor/positive/negative_i), flagembedding (JSONL "
                                 "with pos_scores/neg_scores) or sentence-transformers-distill (Parquet query/"
                                 "positive/negative/label per triple, for MarginMSELoss)."),
    teacher: str = typer.Option("embedder", "--teacher", help="Whose scores the distill and flagembedding "
                                "exports carry (embedder: the recipe's)."),
    label: str = typer.Option("margin", "--label", help="distill: margin (MarginMSELoss) or scores "
                              "([positive, negative]: MarginMSELoss and DistillKLDivLoss)."),
    num_negatives: Optional[int] = typer.Option(None, "--num-negatives",
                                                help="Negatives per row (default: the fewest any row has)."),
    task: list[str] = typer.Option([], "--task", help="Only rows of this task type (repeatable)."),
    instruction_format: str = typer.Option("none", "--instruction-format",
                                           help="none, or qwen3: queries as 'Instruct: {instruction}\\nQuery: {query}'."),
) -> None:
    """Write a run's rows in a trainer's format.

    Example: synthgen export outputs/mixed --task sts --instruction-format qwen3 --out outputs/sts-st
    """
    from synthgen.shards.export import export_run

    report = export_run(run_dir, out, fmt, num_negatives, task, instruction_format, teacher, label)
    typer.echo(f"wrote {report.rows} rows with {report.num_negatives} negatives each to {report.path}"
               + (f" ({report.skipped_too_few_negatives} rows had fewer negatives and were left out)"
                  if report.skipped_too_few_negatives else "")
               + (f" ({report.skipped_no_teacher_scores} rows without {report.teacher} scores were left out)"
                  if report.skipped_no_teacher_scores else ""))


@app.command("inspect")
@user_errors
def inspect_(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    rows: int = typer.Option(3, "--rows", min=0, help="How many sample rows to print (0: none)."),
    task: Optional[str] = typer.Option(None, "--task", help="Sample rows of this task only."),
    top: int = typer.Option(8, "--top", min=1, help="How many removal reasons to list."),
) -> None:
    """Print a run's summary and a few sample rows.

    The summary: models, rows per task and language, the top removal reasons, tokens and
    timings per stage.

    Example: synthgen inspect outputs/demo --rows 5 --task retrieval
    """
    from synthgen.shards.finished_run import FinishedRun
    from synthgen.publish.inspect import inspect_lines

    for line in inspect_lines(FinishedRun.open(run_dir), rows=rows, task=task, top=top):
        typer.echo(line)


@app.command("report")
@user_errors
def report_(run_dir: Path = typer.Argument(..., help="A finished run folder.")) -> None:
    """Write the run report: RUN_DIR/report/index.html and its plots as PNGs.

    The page is self-contained (images embedded). Plots: tasks, languages, query length,
    positive scores with the cosine threshold, hardest negative vs positive, dropped items
    by reason, tokens and throughput per stage.

    Example: synthgen report outputs/demo
    """
    from synthgen.publish.report import write_report

    typer.echo(f"wrote {write_report(run_dir)}")


@app.command()
@user_errors
def publish(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    repo_id: str = typer.Option(..., "--repo-id", help="The Hub dataset repository: ORG/NAME."),
    dry_run: Optional[Path] = typer.Option(None, "--dry-run", help="Write the repo folder to DIR; upload nothing."),
    private: bool = typer.Option(False, "--private", help="Create the repository private (a new one only)."),
    revision: Optional[str] = typer.Option(None, "--revision", help="Branch to commit to (created if missing)."),
    license_: Optional[str] = typer.Option(None, "--license",
                                           help="Hub license id of the data (default: apache-2.0)."),
    rows_per_file: Optional[int] = typer.Option(None, "--rows-per-file", min=1,
                                                help="Rows per Parquet file (default 100,000)."),
) -> None:
    """Publish a run to the Hugging Face Hub as a dataset, with a dataset card.

    One config per task plus `all` (the default), a card with the recipe, counts, plots and
    examples; the upload resumes when the same command is run again.

    The token is HF_TOKEN or the one `hf auth login` saved; HF_ENDPOINT picks another Hub.

    Example: synthgen publish outputs/demo --repo-id my-org/synthgen-demo --dry-run outputs/demo-hub
    """
    from synthgen.publish.hub import ROWS_PER_FILE, publish_run

    published = publish_run(run_dir, repo_id, dry_run=dry_run, private=private, revision=revision,
                            license_id=license_, rows_per_file=rows_per_file or ROWS_PER_FILE)
    for config in published.configs:
        typer.echo(f"config {config.name}: {config.rows:,} rows ({config.path})")
    typer.echo(f"license: {published.license_id} (pass --license if your corpus or generator has other terms)")
    if published.url:
        typer.echo(f"uploaded {published.folder} to {published.url}")
    else:
        typer.echo(f"wrote {published.folder} (dry run: nothing uploaded); load it with "
                   f"datasets.load_dataset({str(published.folder)!r})")


@app.command("eval")
@user_errors
def eval_(
    run_dir: Path = typer.Argument(..., help="A finished run folder."),
    benchmark: Path = typer.Option(..., "--benchmark", help="A labeled retrieval set: BEIR, JSONL or datasets folder."),
    student: str = typer.Option("builtin:all-minilm-l6-v2", "--student", help="A sentence-transformers id or path."),
    epochs: int = typer.Option(1, "--epochs", help="Epochs, the same for every trained model."),
    batch_size: int = typer.Option(32, "--batch-size", help="Rows per batch (in-batch negatives)."),
    learning_rate: float = typer.Option(2e-5, "--learning-rate", help="Peak learning rate (10% linear warmup)."),
    max_rows: Optional[int] = typer.Option(None, "--max-rows", help="Train on at most N rows of each source."),
    num_negatives: Optional[int] = typer.Option(None, "--num-negatives",
                                                help="Hard negatives per run row (default: the fewest any row has)."),
    task: list[str] = typer.Option([], "--task", help="Only rows of this task type (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of training and row sampling."),
    device: str = typer.Option("cpu", "--device", help="Where to train: cpu, cuda, ..."),
) -> None:
    """Does this data train a better retriever? Fine-tune a student on the run's rows and score it.

    Four models side by side, scored with nDCG@10, MRR@10 and Recall@10 on BENCH (overall
    and per query language): the untrained student; the student fine-tuned on an inverse
    cloze baseline from the run's documents (first sentence -> rest, no LLM); on the run's
    rows (query, positive, hard negatives); on both. MultipleNegativesRankingLoss, same
    settings for all. Writes RUN_DIR/eval/results.json and the manifest's eval entry.

    BENCH layouts: BEIR (corpus.jsonl _id/title/text, queries.jsonl _id/text,
    qrels/test.tsv); JSONL (corpus.jsonl and queries.jsonl id/text, qrels.jsonl
    query_id/doc_id/score); a datasets DatasetDict (save_to_disk) with splits corpus,
    queries, qrels in the JSONL columns. A query's optional `language` gives per-language scores.

    Example: synthgen eval outputs/demo --benchmark bench/dev --epochs 1 --max-rows 5000
    """
    import os
    import time

    os.environ.setdefault("TQDM_DISABLE", "1")  # weight loading and the trainer draw bars; the lines below say more
    from synthgen.evaluation import evaluate_run, format_table

    started = time.perf_counter()
    result = evaluate_run(run_dir, benchmark, student=student, epochs=epochs, batch_size=batch_size,
                          max_rows=max_rows, seed=seed, learning_rate=learning_rate, num_negatives=num_negatives,
                          tasks=task or None, device=device,
                          progress=lambda line: typer.echo(f"[{time.perf_counter() - started:6.0f} s] {line}"))
    for line in format_table(result):
        typer.echo(line)
    typer.echo(f"wrote {Path(result.run) / 'eval' / 'results.json'} ({result.seconds:,.0f} s)")
