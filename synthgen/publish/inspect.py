"""`synthgen inspect RUN_DIR`: a finished run at a glance, in the terminal.

What it prints, from the manifest (older manifests show what they have):

- the run, its generator and embedder, rows kept of rows generated, timings;
- rows per task and per query / document language;
- the top removal reasons (`--top`), each with its share of all removals: the first one
  is usually the knob to look at (`low_cosine`: `gates.cosine.min_score`; `leakage`: the
  generator copies the passage; `truncated_output`: `generator.max_tokens`);
- the five worst cells (task x query language x query type x difficulty) by the share of
  their work items kept, with tokens per kept row (synthgen/run/cells.py);
- tokens and generated tokens/s per stage;
- then `--rows N` sample rows (`--task` picks one task), shortened to one line per field.

Model output is printed as data: control characters (terminal escapes among them) are
dropped and whitespace collapsed, so a row cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Iterator

from synthgen.run.cells import worst_cells
from synthgen.errors import UserError
from synthgen.shards.finished_run import FinishedRun

FIELD_CHARS = 160  # a sample row's text fields are cut to this many characters


def inspect_lines(run: FinishedRun, rows: int = 3, task: str | None = None, top: int = 8) -> Iterator[str]:
    """The lines `synthgen inspect` prints."""
    tasks = run.counts("task")
    if task is not None and task not in tasks:
        known = ", ".join(tasks) or "none: the run kept no rows"
        raise UserError(f"--task {task}: not a task of this run (its tasks: {known})")
    for what, value in run.facts():
        yield f"{what + ':':<18}{value}"
    yield ""
    yield _counts_line("tasks", tasks)
    yield _counts_line("query languages", run.counts("query_language"))
    yield _counts_line("document languages", run.counts("document_language"))
    removals = sorted(run.removals.items(), key=lambda item: -item[1])
    total = sum(count for _, count in removals)
    yield ""
    yield f"removed: {total:,} items" + (f"; top {min(top, len(removals))} reasons:" if removals else "")
    for reason, count in removals[:top]:
        yield f"  {count:>10,}  {100 * count / total:5.1f}%  {reason}"
    yield from _worst_cell_lines(run)
    stages = run.stage_rows()
    if stages:
        yield ""
        yield "stages:"
        for stage in stages:
            cached = 100 * stage["cached_tokens"] / stage["prompt_tokens"] if stage["prompt_tokens"] else 0.0
            yield (f"  {stage['stage']}: {stage['requests']:,} requests, {stage['prompt_tokens']:,} prompt tokens "
                   f"({cached:.0f}% cached), {stage['completion_tokens']:,} generated, {stage['seconds']:,.1f} s, "
                   f"{stage['tokens_per_second']:,.0f} tok/s")
    if rows > 0:
        yield from _sample_lines(run, rows, task, tasks.get(task, run.rows) if task else run.rows)


def _worst_cell_lines(run: FinishedRun) -> Iterator[str]:
    worst = worst_cells(run.manifest.get("yield") or [])
    if not worst:
        return
    yield ""
    yield "worst cells (task/query language/query type/difficulty: kept of work items, tokens per kept row):"
    for entry in worst:
        cost = f"{entry['tokens_per_kept_row']:,}" if entry["tokens_per_kept_row"] is not None else "-"
        yield f"  {entry['kept']:>6,} of {entry['items']:<6,} {100 * entry['kept_share']:5.1f}%  {cost:>8}  {entry['cell']}"


def _counts_line(what: str, counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return f"{what + ':':<20}" + (", ".join(f"{key or '?'} {count:,}" for key, count in ordered) or "none")


def _sample_lines(run: FinishedRun, rows: int, task: str | None, available: int) -> Iterator[str]:
    sample = run.sample_rows(rows, task)
    yield ""
    yield f"sample rows ({len(sample)} of {available:,}{', task ' + task if task else ''}):"
    for number, row in enumerate(sample, start=1):
        score = row.get("positive_score")
        negatives = row.get("negatives") or []
        negative_scores = row.get("negative_scores") or []
        yield (f"--- {number}. {row.get('task')}  {row.get('query_language') or '?'} -> "
               f"{row.get('document_language') or '?'}  positive score "
               f"{'-' if score is None else f'{score:.3f}'}  {len(negatives)} negatives"
               + (f" (best {negative_scores[0]:.3f})" if negative_scores else "") + f"  id {row.get('id')}")
        for key in ("instruction", "query", "positive"):
            yield f"  {key + ':':<13}{printable(row.get(key))}"
        for i, negative in enumerate(negatives[:3]):
            yield f"  {f'negative {i + 1}:':<13}{printable(negative)}"


def printable(value: Any, limit: int = FIELD_CHARS) -> str:
    """`value` as one terminal-safe line: control characters dropped, whitespace collapsed, cut."""
    text = "".join(ch for ch in str(value if value is not None else "")
                   if ch.isspace() or unicodedata.category(ch) != "Cc")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
