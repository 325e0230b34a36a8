"""Host-side throughput: what one CPU core does per generated row, without the engine.

The rows are the retrieval task's stage-2 answers for work items over the sample corpus
(`corpora/sample-multilingual.jsonl`, six languages), as a model might write them
(seeded): mostly valid JSON, some in code fences with prose around, keys in the wrong case,
cut-off JSON, answers that break the schema, queries that paste a passage sentence, and
repeats of earlier queries. Timed, in this process (= one core), each the median of
`repeat` passes:

- render: `build_requests` (prompts rendered from the real templates), reported on its own;
- stage: `synthgen.generation.stages.run_stage` with an engine that replays the outputs instantly:
  rendering, parsing (`synthgen.generation.parsing`), schema validation, the echoed-prompt check and
  the task's own check; parse + validate = stage - render;
- exact: `synthgen.gates.exact.find_exact_duplicates` over the rows;
- leakage: `synthgen.gates.leakage.LeakageFilter` over the rows exact dedup kept.

The goal figure is rows / (parse + validate + exact + leakage) seconds. `python -m bench`
runs this module in a fresh process (`python -m bench.host --out F`). The language gate
(lingua) is timed on its own on a sample of the same queries (`language_gate_rate`), per CPU
second of one core, side by side with the reference decisions (lingua over all 75 languages,
as the gate decided before it weighed only the candidate languages), and the share of rows
where the two decide alike is reported.
"""

from __future__ import annotations

import copy
import cProfile
import functools
import io
import pstats
import random
import re
import statistics
import time
from dataclasses import dataclass

import orjson

from bench.engine import ROOT, work_items

GOAL_ROWS_PER_SECOND = 10_000
FILLER = ("how", "what", "why", "best", "guide", "history", "compare", "explain", "cost", "near", "today",
          "vs", "steps", "for", "beginners", "in", "winter", "is", "it", "safe", "to")


@dataclass(frozen=True)
class ReplayEngine:
    """A generator that answers each request with a prepared output, instantly."""

    outputs: dict[int, object]
    model_id: str = "replay"

    def generate(self, requests):
        return [self.outputs[r.seed] for r in requests]


def synthetic_output(item, rng: random.Random, earlier: list[str]) -> str:
    """One stage-2 answer for `item`, of a kind drawn by `rng` (see the module docstring)."""
    words = item.document.text.split()
    kind = rng.random()
    if kind < 0.05:  # pastes a passage sentence: leakage
        start = rng.randrange(max(1, len(words) - 14))
        query = " ".join(words[start:start + rng.randint(12, 14)])
    elif kind < 0.08 and earlier:  # repeats an earlier query: exact dedup
        query = rng.choice(earlier)
    else:
        picked = rng.sample(words, min(len(words), rng.randint(2, 6))) + rng.sample(FILLER, rng.randint(2, 6))
        rng.shuffle(picked)
        query = " ".join(picked).strip(".,;:")
    earlier.append(query)
    form = rng.random()
    if form < 0.70:
        return orjson.dumps({"Query": query}).decode()
    if form < 0.80:
        return f"Sure! Here is the query:\n```json\n{orjson.dumps({'Query': query}).decode()}\n```\nI hope it helps."
    if form < 0.87:
        return orjson.dumps({"query": query}).decode()  # key case fixed by the parser
    if form < 0.93:
        return orjson.dumps({"Query": query}).decode()[: rng.randint(5, 20)]  # cut off: invalid_json
    if form < 0.97:
        return orjson.dumps({"Query": query, "Answer": "yes"}).decode()  # schema_mismatch
    return "I cannot write a query for this passage."


def prepare(n_rows: int, seed: int = 0):
    """(task, prompts, sampling, items, replay engine) for `n_rows` stage-2 work items."""
    from synthgen.engines.base import GenerationOutput
    from synthgen.generation.prompts import PromptLibrary
    from synthgen.config.loader import build_recipe
    from synthgen.tasks import build_tasks

    recipe = build_recipe({"name": "bench", "corpus": [{"path": "x"}],
                           "tasks": {"retrieval": {"type_and_difficulty": "sample"}}})
    task = build_tasks(recipe)["retrieval"]
    per_doc = 16
    items = work_items(task, -(-n_rows // per_doc), per_doc, seed)[:n_rows]
    rng, earlier, outputs = random.Random(seed), [], {}
    for item in items:
        item.fields["persona"] = item.candidates[item.variant % len(item.candidates)].persona
        text = synthetic_output(item, rng, earlier)
        outputs[_seed(item, task)] = GenerationOutput(text, "stop", 600, 20)
    return task, PromptLibrary(), recipe, items, ReplayEngine(outputs)


def _seed(item, task) -> int:
    from synthgen.generation.rows import stable_int

    return stable_int(item.seed, task.stages[1].name)


def one_pass(task, prompts, recipe, items, engine, profiler: cProfile.Profile | None = None) -> dict:
    """Seconds of each step over fresh copies of `items`, and what each step kept. A profiler,
    if given, runs only inside the timed parts."""
    from synthgen.gates.base import GateContext
    from synthgen.gates.exact import find_exact_duplicates
    from synthgen.gates.leakage import LeakageFilter
    from synthgen.generation.stages import build_requests, run_stage

    stage, seconds = task.stages[1], {}

    def timed(name, function, *args):
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        result = function(*args)
        seconds[name] = time.perf_counter() - started
        if profiler:
            profiler.disable()
        return result

    timed("render", build_requests, stage, copy.deepcopy(items), prompts, recipe.generator)
    kept, rejects, rows = timed("stage", _stage_rows, run_stage, stage, task, copy.deepcopy(items), engine, prompts,
                                recipe.generator)
    ids, queries, positives = [r["id"] for r in rows], [r["query"] for r in rows], [r["positive"] for r in rows]
    dropped = timed("exact", find_exact_duplicates, ids, queries, positives)
    unique = [row for i, row in enumerate(rows) if i not in dropped]
    verdict = timed("leakage", LeakageFilter(recipe.gates.leakage).check, unique, GateContext())
    reasons: dict[str, int] = {}
    for reject in rejects:
        reasons[reject.reason] = reasons.get(reject.reason, 0) + 1
    return {"seconds": seconds,
            "counts": {"items": len(items), "parsed_rows": len(rows), "stage_rejects": reasons,
                       "exact_duplicates": len(dropped), "leakage": sum(bool(r) for r in verdict.reasons),
                       "kept": sum(not r for r in verdict.reasons)}}


def _stage_rows(run_stage, stage, task, items, engine, prompts, sampling):
    """run_stage, then the survivors as rows of the contract (as the shard worker makes them)."""
    kept, rejects, _ = run_stage(stage, task.name, items, engine, prompts, sampling)
    return kept, rejects, [task.to_row(item) for item in kept]


def reference_language_decisions(rows: list[dict]) -> list[str]:
    """The language gate's decisions as synthgen made them before the candidate restriction
    (kept here, frozen, as the reference): lingua over all 75 languages, the asked language kept
    when it comes first or has at least half the first choice's confidence."""
    from synthgen.config.quality import LanguageGateConfig

    detector = _full_detector()
    relative = LanguageGateConfig().min_relative_confidence
    reasons = []
    for row in rows:
        values = detector.compute_language_confidence_values(row["query"][:2000])
        scores = {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values if v.value > 0}
        top = max(scores, key=scores.get) if scores else "und"
        confidence = scores.get(row["query_language"], 0.0)
        ok = top == row["query_language"] or bool(scores and confidence >= relative * scores[top])
        reasons.append("" if ok else "wrong_language")
    return reasons


@functools.lru_cache(maxsize=1)
def _full_detector():
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().build()


def _cpu_timed(function, *args):
    """(result, CPU seconds of this process, wall seconds): lingua runs on the calling thread, so
    CPU seconds are one core's, and a busy machine inflates them less than the wall clock."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = function(*args)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def language_gate_rate(rows_or_items, n: int, repeat: int = 3) -> dict:
    """The language gate (synthgen's, lingua over the candidate languages) on `n` of the queries,
    side by side with the reference decisions (lingua over all 75 languages, as before): rows per
    CPU-second of one core (the best of `repeat` passes for ours, one for the reference), and in
    how many rows the two decide alike. Models are loaded before timing."""
    from synthgen.gates.base import GateContext
    from synthgen.gates.language import LanguageFilter
    from synthgen.config.quality import LanguageGateConfig

    rows = [{"query": q, "query_language": lang, "positive": "", "document_language": lang}
            for q, lang in rows_or_items[:n]]
    gate = LanguageFilter(LanguageGateConfig())
    started = time.perf_counter()
    gate.check(rows[:50], GateContext())
    reference_language_decisions(rows[:50])
    load = time.perf_counter() - started
    reference, reference_cpu, reference_wall = _cpu_timed(reference_language_decisions, rows)
    passes = [_cpu_timed(gate.check, rows, GateContext()) for _ in range(repeat)]
    verdict, cpu, wall = min(passes, key=lambda p: p[1])
    ours = verdict.reasons
    disagree = [i for i, (a, b) in enumerate(zip(ours, reference)) if a != b]
    kept_only_by_ours = sum(not ours[i] for i in disagree)
    return {"rows": len(rows), "seconds": cpu, "wall_seconds": wall, "rows_per_second": len(rows) / cpu,
            "reference_seconds": reference_cpu, "reference_wall_seconds": reference_wall,
            "reference_rows_per_second": len(rows) / reference_cpu, "speedup": reference_cpu / cpu,
            "agreement": 1 - len(disagree) / max(len(rows), 1), "disagreements": len(disagree),
            "kept_by_ours_rejected_by_reference": kept_only_by_ours,
            "rejected_by_ours_kept_by_reference": len(disagree) - kept_only_by_ours,
            "rejected_by_reference": sum(bool(r) for r in reference),
            "candidates": sorted(gate.candidates()), "model_load_seconds": load,
            "disagreement_examples": [{"query": rows[i]["query"], "asked": rows[i]["query_language"],
                                       "ours": ours[i] or "keep", "reference": reference[i] or "keep"}
                                      for i in disagree[:10]]}


def hot_spots(task, prompts, recipe, items, engine, top: int = 12) -> list[dict]:
    """cProfile of one pass (its timed parts only): the functions with the most own time."""
    profiler = cProfile.Profile()
    one_pass(task, prompts, recipe, items, engine, profiler)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        where = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", path).removeprefix(str(ROOT) + "/")
        rows.append({"function": f"{where}:{line}({name})", "calls": calls, "own_seconds": round(own, 4),
                     "cumulative_seconds": round(cumulative, 4)})
    rows.sort(key=lambda r: -r["own_seconds"])
    return rows[:top]


def run(n_rows: int = 50_000, repeat: int = 3, language_rows: int = 2_000, profile: bool = True,
        seed: int = 0) -> dict:
    """The host-side throughput report (see the module docstring)."""
    task, prompts, recipe, items, engine = prepare(n_rows, seed)
    passes = [one_pass(task, prompts, recipe, items, engine) for _ in range(repeat)]
    seconds = {step: statistics.median(p["seconds"][step] for p in passes) for step in passes[0]["seconds"]}
    seconds["parse_validate"] = max(seconds["stage"] - seconds["render"], 1e-9)
    goal_seconds = seconds["parse_validate"] + seconds["exact"] + seconds["leakage"]
    rates = {step: n_rows / s for step, s in seconds.items()}
    queries = [(orjson.loads(o.text)["Query"], item.fields["query_language"])
               for item, o in ((i, engine.outputs[_seed(i, task)]) for i in items)
               if o.text.startswith('{"Query"') and o.text.endswith("}")]
    report = {
        "rows": n_rows, "repeat": repeat, "seconds_median": seconds, "rows_per_second_by_step": rates,
        "rows_per_second": n_rows / goal_seconds,
        "rows_per_second_with_rendering": n_rows / (seconds["stage"] + seconds["exact"] + seconds["leakage"]),
        "goal_rows_per_second": GOAL_ROWS_PER_SECOND, "counts": passes[0]["counts"],
        "language_gate": language_gate_rate(queries, language_rows) if language_rows else None,
    }
    if profile:
        report["hot_spots"] = hot_spots(task, prompts, recipe, items[: min(n_rows, 10_000)], engine)
    return report


def main() -> None:
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--language-rows", type=int, default=2_000)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", type=Path, help="write the report here (default: print it)")
    args = parser.parse_args()
    report = run(args.rows, args.repeat, args.language_rows, not args.no_profile)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
