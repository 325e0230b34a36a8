"""`make quality` (= python -m bench.quality): does synthgen's data train a better retriever?

    .venv/bin/python -m bench.quality                          # ~12 min on 2 quiet CPU cores
    .venv/bin/python -m bench.quality --docs-per-language 25   # a smaller run (~5 min)
    QUALITY_QUERIES_PER_DOCUMENT=1 make quality

Three steps, each timed (bench/README.md, "The quality benchmark"):

1. build: the development benchmark from Debian's package descriptions into OUT
   (default outputs/quality): `bench/quality/build.py`; kept as it is when OUT already holds
   a build with the same settings.
2. generate: `synthgen run bench/quality/recipe.toml` over OUT/corpus.jsonl (the benchmark's
   documents, never its queries) into OUT/run. Skipped when OUT/run already holds a finished
   run of the same recipe, corpus, settings, prompts, personas and synthgen code (--regenerate
   forces it); resumed when the same generation was interrupted; `--overwrite` is passed
   only on a folder synthgen marked as a run.
3. eval: `synthgen eval OUT/run --benchmark OUT/benchmark` (a subprocess: only its command
   line is relied on). Where this synthgen has no `eval` command yet, the runner says so and
   stops after step 2.

Prints the eval's table and the time of each step, and writes everything to OUT/quality.json.
Sizes come from flags or QUALITY_* environment variables (flags win).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from bench.quality import build as builder

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_QUERIES_PER_DOCUMENT = 2
# Work items (documents x queries) per second of the built-in SmolLM2-135M through both
# stages on 2 CPU cores with the recipe's 128-document shards (bench/README.md: 1.8-2.0 at
# load average ~2, 1.1 at ~3): only for the time estimate printed first.
ITEMS_PER_SECOND = 1.5
_PROGRESS = re.compile(r"^\[\s*\d+ s\]")  # synthgen eval's progress lines


def log(message: str) -> None:
    print(f"[quality {time.strftime('%H:%M:%S')}] {message}", flush=True)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(env("QUALITY_OUT", "outputs/quality")),
                        help="benchmark, run and results folder (env QUALITY_OUT; default %(default)s)")
    builder.add_options(parser)
    parser.add_argument("--queries-per-document", type=int,
                        default=int(env("QUALITY_QUERIES_PER_DOCUMENT", DEFAULT_QUERIES_PER_DOCUMENT)),
                        help="work items per document (env QUALITY_QUERIES_PER_DOCUMENT; default %(default)s)")
    parser.add_argument("--recipe", type=Path, default=HERE / "recipe.toml", help="generation recipe (default %(default)s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="recipe override passed to synthgen run, e.g. --set generator.temperature=0.5")
    parser.add_argument("--regenerate", action="store_true", help="generate again even if OUT/run matches")
    parser.add_argument("--student", default=env("QUALITY_STUDENT"), help="synthgen eval --student (env QUALITY_STUDENT)")
    parser.add_argument("--epochs", type=int, default=int(env("QUALITY_EPOCHS")) if env("QUALITY_EPOCHS") else None,
                        help="synthgen eval --epochs (env QUALITY_EPOCHS)")
    parser.add_argument("--eval-args", default=env("QUALITY_EVAL_ARGS", ""),
                        help="more options for synthgen eval, as shell words (env QUALITY_EVAL_ARGS)")
    args = parser.parse_args(argv)
    if args.queries_per_document < 1:
        parser.error("--queries-per-document must be >= 1")
    return args


def synthgen_command() -> list[str]:
    """This environment's synthgen: the console script beside this Python, else the module."""
    script = Path(sys.executable).parent / "synthgen"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "synthgen.cli"]


def has_eval_command(synthgen: list[str]) -> bool:
    done = subprocess.run([*synthgen, "eval", "--help"], capture_output=True, text=True, cwd=ROOT)
    return done.returncode == 0


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_sha256(folder: Path, pattern: str) -> str:
    """One digest of the files under `folder` matching `pattern` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob(pattern)):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def generation_stamp(args: argparse.Namespace, corpus: Path) -> dict:
    """What the generated rows depend on: reused only when all of it is the same: the
    recipe, the corpus, the sizes, and the prompt templates, persona libraries and
    synthgen code they are made with (a changed prompt is a new generation)."""
    return {"recipe": str(args.recipe), "recipe_sha256": file_sha256(args.recipe), "corpus_sha256": file_sha256(corpus),
            "queries_per_document": args.queries_per_document, "overrides": list(args.overrides),
            "prompts_sha256": tree_sha256(ROOT / "prompts", "*.j2"),
            "personas_sha256": tree_sha256(ROOT / "personas", "*.jsonl"),
            "synthgen_sha256": tree_sha256(ROOT / "synthgen", "*.py")}


def run_folder_kind(folder: Path) -> str | None:
    from synthgen.run.owned_folders import folder_kind

    return folder_kind(folder) if folder.is_dir() else None


class Report:
    """OUT/quality.json, rewritten after every step (an interrupted run keeps what it did)."""

    def __init__(self, path: Path, previous: dict):
        self.path = path
        self.previous = previous
        self.data: dict = {"written_by": "python -m bench.quality", "steps": {}}

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, self.path)


def load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def step_build(args: argparse.Namespace, report: Report) -> dict:
    settings = builder.settings_from(args)
    info = builder.build(args.out, settings, refresh=args.refresh, offline=args.offline,
                         log=lambda line: log(f"build: {line}"))
    report.data["benchmark"] = {k: info.get(k) for k in ("settings", "languages", "english_only", "documents",
                                                         "queries", "counts", "notes", "fetch", "built_at")}
    report.data["benchmark"]["reused"] = bool(info.get("reused"))
    return info


def step_generate(args: argparse.Namespace, report: Report, synthgen: list[str]) -> int:
    out = args.out
    corpus, run_dir = out / "corpus.jsonl", out / "run"
    stamp = generation_stamp(args, corpus)
    before = report.previous.get("generation", {})
    manifest = run_dir / "manifest.json"
    kind = run_folder_kind(run_dir)
    entry: dict = {"stamp": stamp, "run": str(run_dir)}
    report.data["generation"] = entry
    if (not args.regenerate and before.get("stamp") == stamp and before.get("status") == "done"
            and kind == "run" and manifest.is_file()):
        log(f"generate: {run_dir} already holds this generation (same recipe, corpus and settings): kept "
            "(--regenerate to generate again)")
        entry.update({key: before.get(key) for key in ("command", "counts", "seconds", "items")})
        entry.update(status="done", reused=True)
        return 0
    command = [*synthgen, "run", str(args.recipe), "--out", str(run_dir),
               "--set", f"corpus.path={corpus.resolve()}", "--set", f"queries_per_document={args.queries_per_document}"]
    for override in args.overrides:
        command += ["--set", override]
    if kind == "run":
        resume = before.get("stamp") == stamp and before.get("status") == "running" and not args.regenerate
        if not resume:
            command.append("--overwrite")  # a folder synthgen marked as a run: synthgen replaces only its own files
    elif run_dir.exists() and any(run_dir.iterdir()):
        log(f"generate: {run_dir} holds files synthgen did not write: it is left as it is; remove it or "
            "choose another --out")
        entry["status"] = "refused"
        return 2
    documents = sum(1 for line in corpus.open(encoding="utf-8") if line.strip())
    items = documents * args.queries_per_document
    entry.update(command=shlex.join(command), items=items, status="running")
    report.save()
    log(f"generate: {documents} documents x {args.queries_per_document} queries = {items} work items "
        f"(~{(items / ITEMS_PER_SECOND + 60) / 60:.0f} min at ~{ITEMS_PER_SECOND:g} items/s on 2 quiet CPU cores)")
    log(f"generate: {shlex.join(command)}")
    done = subprocess.run(command, cwd=ROOT)
    if done.returncode:
        entry.update(status="failed", returncode=done.returncode)
        log(f"generate: synthgen run failed (exit status {done.returncode}); run `make quality` again to resume")
        return done.returncode
    info = load_json(manifest)
    entry.update(status="done", counts=info.get("counts"), removals=info.get("removals"),
                 timings=info.get("timings"), stages=info.get("stages"))
    return 0


def step_eval(args: argparse.Namespace, report: Report, synthgen: list[str]) -> tuple[int, list[str]]:
    run_dir, bench = args.out / "run", args.out / "benchmark"
    command = [*synthgen, "eval", str(run_dir), "--benchmark", str(bench)]
    if args.student:
        command += ["--student", args.student]
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    command += shlex.split(args.eval_args)
    entry: dict = {"command": shlex.join(command)}
    report.data["eval"] = entry
    log(f"eval: {shlex.join(command)}")
    lines: list[str] = []
    # Bytes, not text mode: text mode would turn a progress bar's \r into line breaks.
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
    entry.update(returncode=process.returncode, output=lines)
    results = load_json(run_dir / "eval" / "results.json")
    if results:
        entry["results"] = results
    shown = [line.split("\r")[-1] for line in lines]  # what a terminal shows of a progress bar's \r updates
    table = [line for line in shown if not _PROGRESS.match(line) and not line.startswith("wrote ")]
    entry["status"] = "done" if process.returncode == 0 else "failed"
    return process.returncode, table


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    started = time.perf_counter()
    synthgen = synthgen_command()
    steps: dict[str, float] = {}
    status = 0
    table: list[str] = []
    try:  # OUT is the builder's folder (it refuses a foreign one): claimed before anything is written
        builder.claim(args.out)
    except builder.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = Report(args.out / "quality.json", load_json(args.out / "quality.json"))
    import shutil

    from bench.machine import describe, one_line

    machine = report.data["machine"] = describe(gpus=None if shutil.which("nvidia-smi") else [])
    load = machine["load_average"][0]
    log(f"machine: {one_line(machine)}; load average {load:.1f}"
        + (f" (busy: more work than cores, every step takes longer)" if load > (machine["usable_cores"] or 1) else ""))
    report.data["settings"] = {"out": str(args.out), "queries_per_document": args.queries_per_document,
                               "recipe": str(args.recipe), "overrides": args.overrides, "student": args.student,
                               "epochs": args.epochs, "eval_args": args.eval_args}
    eval_available = has_eval_command(synthgen)
    if not eval_available:
        log("note: this synthgen has no `eval` command yet (it is being added: synthgen/evaluation/); "
            "make quality builds the benchmark and generates, then stops before the eval")

    def timed(name: str, work) -> object:
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            return work()
        finally:
            steps[name] = round(time.perf_counter() - t0, 1)
            report.data["steps"] = dict(steps)
            report.save()
            log(f"{name} took {steps[name]:.0f} s")

    try:
        timed("build", lambda: step_build(args, report))
    except builder.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        report.data["error"] = str(exc)
        report.save()
        return 2
    status = timed("generate", lambda: step_generate(args, report, synthgen))
    if status == 0 and eval_available:
        status, table = timed("eval", lambda: step_eval(args, report, synthgen))
    elif status == 0:
        report.data["eval"] = {"status": "unavailable",
                               "note": "this synthgen has no `eval` command: run `synthgen eval "
                                       f"{args.out / 'run'} --benchmark {args.out / 'benchmark'}` once it has"}
    total = time.perf_counter() - started
    report.data["seconds"] = round(total, 1)
    report.data["status"] = "done" if status == 0 else "failed"
    report.save()

    print()
    if table:
        print("\n".join(table).strip("\n"))
        print()
    elif status == 0 and not eval_available:
        print(f"no eval: this synthgen has no `eval` command; the benchmark is {args.out / 'benchmark'}, "
              f"the run {args.out / 'run'}")
        print()
    info = report.data.get("benchmark", {})
    languages = ", ".join(f"{lang} {info['counts'][lang]['documents']}" for lang in info.get("languages", []))
    print(f"benchmark: {info.get('documents')} documents and queries ({languages})"
          + (" - English only: Debian's translations could not be fetched" if info.get("english_only") else ""))
    generation = report.data.get("generation", {})
    if generation.get("counts"):
        counts = generation["counts"]
        print(f"generation: {generation.get('items')} work items -> {counts.get('generated_rows')} rows generated, "
              f"{counts.get('rows')} kept" + (" (reused)" if generation.get("reused") else ""))
    print("| step | seconds |")
    print("| --- | --- |")
    for name, seconds in steps.items():
        print(f"| {name} | {seconds:,.0f} |")
    print(f"| total | {total:,.0f} |")
    print(f"wrote {report.path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
