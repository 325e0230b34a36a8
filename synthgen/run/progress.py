"""Progress on long runs (documents, requests, tokens/s, ETA) and the end-of-run summary."""

from __future__ import annotations

import textwrap
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn


class RunProgress:
    """A progress bar over documents that also shows requests and generation tokens/s."""

    def __init__(self, total_documents: int | None, console: Console | None = None, enabled: bool = True):
        self.console = console or Console(stderr=True)
        self.requests = 0
        self.completion_tokens = 0
        self.started = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]documents"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[requests]} requests"),
            TextColumn("{task.fields[rate]:.0f} tok/s"),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("elapsed"), TimeElapsedColumn(),
            console=self.console, disable=not enabled, transient=False,
        )
        self._task = self._progress.add_task("run", total=total_documents, requests=0, rate=0.0)
        self.total = total_documents
        self.documents = 0
        # Logs and CI have no terminal to redraw a bar on: print one line per shard instead.
        self._plain = enabled and not self.console.is_terminal

    def __enter__(self) -> "RunProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def advance(self, documents: int, requests: int, completion_tokens: int) -> None:
        self.requests += requests
        self.completion_tokens += completion_tokens
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.completion_tokens / elapsed
        self.documents += documents
        self._progress.update(self._task, advance=documents, requests=self.requests, rate=rate)
        if self._plain:
            eta = elapsed / self.documents * (self.total - self.documents) if self.total else 0.0
            self.console.print(f"documents {self.documents}/{self.total}  {self.requests} requests  "
                               f"{rate:.0f} tok/s  ETA {eta:.0f} s  elapsed {elapsed:.0f} s")


def summary_lines(manifest: dict[str, Any], width: int = 80) -> list[str]:
    """The end-of-run summary, at most `width` columns: what was read, generated, kept and
    dropped (grouped by the step that dropped it), and how fast each stage ran."""
    counts, by = manifest["counts"], manifest.get("counts_by") or {}
    lines = [f"synthgen run: {manifest['recipe']['name']}",
             f"  documents: {counts['documents_read']:,} read, {counts['documents_kept']:,} kept; "
             f"work items: {counts['work_items']:,}",
             f"  rows: {counts['generated_rows']:,} generated, {counts.get('rows', 0):,} kept"]
    for task, languages in by.get("task_query_language", {}).items():
        detail = ", ".join(f"{language} {count:,}" for language, count in languages.items())
        lines += _wrapped(f"    {task}: {sum(languages.values()):,} ({detail})", width)
    steps: dict[str, list[str]] = {}
    for key, count in sorted(manifest.get("removals", {}).items()):
        step, _, reason = key.rpartition("/")
        steps.setdefault(step or "other", []).append(f"{reason} {count:,}")
    if steps:
        lines.append(f"  removed ({sum(manifest['removals'].values()):,}), by step:")
        for step, reasons in steps.items():
            lines += _wrapped(f"    {step}: {', '.join(reasons)}", width)
    for stage, stats in manifest.get("stages", {}).items():
        rate = stats["completion_tokens"] / max(stats["seconds"], 1e-9)
        lines += _wrapped(f"  stage {stage}: {stats['requests']:,} requests, {stats['prompt_tokens']:,} prompt + "
                          f"{stats['completion_tokens']:,} generated tokens, {rate:,.0f} tok/s", width)
    engine = manifest.get("engine") or {}
    if "enforce_eager" in engine:
        mode = "eager (enforce_eager)" if engine["enforce_eager"] else "compiled (torch.compile)"
        lines += _wrapped(f"  engine: {mode}: {engine.get('enforce_eager_reason', '')}", width)
    lines += _label_lines(manifest, width)
    lines.append(f"  wall time: {manifest['timings']['total_seconds']:.1f} s")
    for advice in manifest.get("mining", {}).get("advice", []):
        lines += _wrapped(f"  mining: {advice}", width)
    from synthgen.judge import summary_lines as judge_lines

    for line in judge_lines(manifest.get("judge") or {}):
        lines += _wrapped(f"  {line}", width)
    return lines


def _label_lines(manifest: dict[str, Any], width: int) -> list[str]:
    """Contamination, cross-row collisions and query diversity, one line each where recorded."""
    lines: list[str] = []
    checked = manifest.get("contamination") or {}
    if checked:
        sets = ", ".join(s["path"] for s in checked.get("against", []))
        lines += _wrapped(f"  contamination: {checked['rows_removed']:,} rows removed, checked against {sets}", width)
    collisions = manifest.get("collisions") or {}
    if collisions:
        lines += _wrapped(f"  collisions: {collisions['negatives_colliding']:,} of {collisions['negatives_checked']:,} "
                          f"mined negatives copy a row's positive ({collisions['action']}); "
                          f"{collisions.get('groups', 0):,} positive groups", width)
    diversity = manifest.get("diversity") or {}
    if diversity.get("queries"):
        lines += _wrapped(f"  diversity: distinct-1 {diversity['distinct_1']}, distinct-2 {diversity['distinct_2']}, "
                          f"mean pairwise cosine {diversity['mean_pairwise_cosine']}, near-duplicate neighbours "
                          f"{diversity['nearest_neighbour_duplicate_rate']}", width)
    return lines


def _wrapped(line: str, width: int) -> list[str]:
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [line]
