"""`synthgen filter`, `mine` and `judge`: the finalize pass again, over a finished run.

Both start from the run's generated rows (OUT/generated/), never from its final shards,
so the same settings give the same shards and a looser threshold brings rows back. The
recipe is the one the manifest recorded, with `--set` overrides of one table only
(`gates.*` for filter, `mining.*` for mine, `judge.*` for judge); no generator is loaded,
only the embedder, and the judge's engine when a judge must score pairs its cache lacks
(its vLLM output goes to OUT/logs/engine.log). `executor="ray"` embeds on a Ray cluster's
embedder actors (`synthgen/run/ray_embedding.py`), with the vectors of a local pass.

The run comes in opened (`synthgen.shards.finished_run.FinishedRun.open`, which has
checked the manifest's JSON types); this module asks only for what `OpenedRun` names, so
it does not import the layer above it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from synthgen.config.loader import apply_override, build_recipe
from synthgen.config.recipe import Recipe
from synthgen.engines import Embedder, load_embedder
from synthgen.engines.chunked import ChunkedEmbedder, chunked
from synthgen.errors import UserError
from synthgen.judge import summary_lines as judge_summary
from synthgen.run.executors import check_executor
from synthgen.run.finalize import FinalizeReport, Finalizer
from synthgen.run.output import RunFolder
from synthgen.run.owned_folders import require_owned
from synthgen.run.pipeline import update_manifest
from synthgen.run.terminal import engine_output_to

_NEEDED = ("recipe", "counts", "generation_removals")  # what a finished run's manifest has


class OpenedRun(Protocol):
    """What a finalize pass reads of a finished run (a `FinishedRun`)."""

    folder: RunFolder
    manifest: dict[str, Any]

    @property
    def recipe(self) -> dict[str, Any]:
        """The manifest's recipe, credentials redacted."""
        ...


@dataclass(frozen=True)
class Refinalized:
    """A finalize pass over a finished run: its report and how long it took."""

    report: FinalizeReport
    seconds: float

    def lines(self) -> list[str]:
        """What the command prints: rows in and kept, removals by reason, mining advice."""
        report = self.report
        return ([f"{report.rows_in} generated rows -> {report.rows_out} kept ({self.seconds:.1f} s)"]
                + [f"  removed {reason}: {count}" for reason, count in report.removals.items()]
                + [f"  {line}" for line in [*report.advice, *judge_summary(report.judge)]])


def refinalize(run: OpenedRun, overrides: list[str], allowed: tuple[str, ...], command: str,
               embedder: Embedder | None = None, executor: str = "local", address: str | None = None) -> Refinalized:
    """Run the gates and mining again over `run`'s generated rows with the recipe it was
    made with, changed by `overrides` (`key=value`, each under one of `allowed`, e.g. "gates."),
    and record the pass in its manifest. `command` names the command in messages;
    `executor` ("local" or "ray", at `address`) says where the texts are embedded."""
    started = time.perf_counter()
    require_owned(run.folder.root, "run", command)
    missing = [key for key in _NEEDED if run.manifest.get(key) is None]
    if missing:
        raise UserError(f"{run.folder.manifest}: lacks {', '.join(missing)} (not written by a finished synthgen "
                        f"run): rerun `synthgen run RECIPE --out {run.folder.root}` to finish it")
    data = orjson.loads(orjson.dumps(run.recipe))  # a deep copy: overrides change nested tables
    for item in overrides:
        if not item.strip().startswith(allowed):
            raise UserError(f"--set {item}: this command changes only {', '.join(a + '*' for a in allowed)} keys")
        apply_override(data, item)
    recipe = build_recipe(data)
    engine_log = run.folder.root / "logs" / "engine.log" if recipe.judge.enabled else None
    pass_embedder = _embedder(recipe, embedder, executor, address)
    try:
        with engine_output_to(engine_log):
            report = Finalizer(run.folder, recipe, pass_embedder).run()
    finally:
        pass_embedder.close()
    run.manifest.setdefault("timings", {})
    update_manifest(run.folder, run.manifest, recipe, report, run.manifest["timings"].get("total_seconds", 0.0))
    return Refinalized(report, time.perf_counter() - started)


def _embedder(recipe: Recipe, embedder: Embedder | None, executor: str, address: str | None) -> ChunkedEmbedder:
    """The pass's embedder: `embedder` if given, else the recipe's, here or on Ray actors."""
    if check_executor(executor) == "ray":
        from synthgen.run.ray_cluster import connect_ray
        from synthgen.run.ray_embedding import RayEmbedder

        return RayEmbedder(recipe, connect_ray(address))
    return chunked(embedder or load_embedder(recipe.embedder), recipe.embedder.chunk_size)
