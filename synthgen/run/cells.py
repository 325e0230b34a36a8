"""Yield and cost per cell: where the generation budget turns into kept rows, and where not.

A cell is (task, query language, query type, difficulty), the axes a recipe samples work
items on. For each cell a run counts the work items planned, the rows generated, the
rows kept after the gates and mining, and the tokens spent (prompt and completion, every
stage), so that tokens per kept row say what a row of that cell costs. A cell that keeps
few of its items is a prompt or a setting to change (a language the generator cannot
write, a query type it answers with copies of the passage), or a cell to sample less.
The manifest holds the table (`yield`), `synthgen inspect` names the worst cells and the
report shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

CELL_COLUMNS = ("task", "query_language", "query_type", "difficulty")
MIN_ITEMS_FOR_WORST = 5  # a cell with fewer items says little about its yield


@dataclass
class CellStats:
    """Counters of one cell; add with `+=`."""

    items: int = 0
    generated: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __iadd__(self, other: "CellStats") -> "CellStats":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def cell_key(task: str, language: str, query_type: str, difficulty: str) -> str:
    return "/".join(part or "-" for part in (task, language, query_type, difficulty))


def item_cell(item: Any) -> str:
    """The cell of a work item, from what was sampled for it (or what stage 1 chose)."""
    f = item.fields
    language = f.get("query_language") or f.get("language") or item.document.language
    return cell_key(item.task, language, str(f.get("query_type", "")), str(f.get("difficulty", "")))


def kept_per_cell(data: Path) -> dict[str, int]:
    kept: dict[str, int] = {}
    for path in sorted(data.glob("*.parquet")):
        table = pq.read_table(path, columns=list(CELL_COLUMNS))
        for row in zip(*(table.column(c).to_pylist() for c in CELL_COLUMNS)):
            key = cell_key(*(value or "" for value in row))
            kept[key] = kept.get(key, 0) + 1
    return kept


def yield_table(cells: dict[str, dict[str, int]], kept: dict[str, int]) -> list[dict[str, Any]]:
    """One entry per cell, most work items first: items, generated, kept, the kept share
    of the items, and tokens per kept row (None when nothing was kept)."""
    table = []
    for key in sorted(set(cells) | set(kept)):
        stats = CellStats(**cells.get(key, {}))
        tokens = stats.prompt_tokens + stats.completion_tokens
        kept_rows = kept.get(key, 0)
        table.append({"cell": key, "items": stats.items, "generated": stats.generated, "kept": kept_rows,
                      "kept_share": round(kept_rows / stats.items, 4) if stats.items else None,
                      "tokens_per_kept_row": round(tokens / kept_rows) if kept_rows else None})
    return sorted(table, key=lambda entry: (-entry["items"], entry["cell"]))


def worst_cells(table: list[dict[str, Any]], n: int = 5) -> list[dict[str, Any]]:
    """The `n` cells that keep the smallest share of their work items (at least
    MIN_ITEMS_FOR_WORST items each); ties go to the costlier cell."""
    ranked = [entry for entry in table if entry["items"] >= MIN_ITEMS_FOR_WORST]
    return sorted(ranked, key=lambda e: (e["kept_share"], -(e["items"])))[:n]
