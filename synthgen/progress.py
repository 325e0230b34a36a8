"""Progress on long runs (documents, requests, tokens/s, ETA) and the end-of-run summary."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn
from rich.table import Table


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


def summary_table(manifest: dict[str, Any]) -> Table:
    """The end-of-run table: what was read, generated, kept and dropped, and how fast."""
    table = Table(title=f"synthgen run: {manifest['recipe']['name']}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    counts = manifest["counts"]
    for key in ("documents_read", "documents_kept", "work_items", "generated_rows", "rows"):
        table.add_row(key.replace("_", " "), f"{counts[key]:,}")
    for name, languages in manifest["counts_by"].get("task_query_language", {}).items():
        detail = ", ".join(f"{language} {count:,}" for language, count in languages.items())
        table.add_row(f"rows, task {name}", f"{sum(languages.values()):,} ({detail})")
    for name, count in sorted(manifest["counts_by"]["query_language"].items()):
        table.add_row(f"rows, query language {name}", f"{count:,}")
    for reason, count in sorted(manifest["removals"].items()):
        table.add_row(f"removed: {reason}", f"{count:,}")
    for stage, stats in manifest["stages"].items():
        rate = stats["completion_tokens"] / max(stats["seconds"], 1e-9)
        table.add_row(f"stage {stage}", f"{stats['requests']:,} req, {stats['prompt_tokens']:,} prompt tok, "
                      f"{stats['completion_tokens']:,} gen tok, {rate:,.0f} tok/s")
    table.add_row("wall time", f"{manifest['timings']['total_seconds']:.1f} s")
    for line in manifest.get("mining", {}).get("advice", []):
        table.add_row("mining", line)
    return table
