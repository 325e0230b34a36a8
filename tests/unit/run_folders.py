"""Finished run folders for the commands that read one (report, inspect, publish), written
directly: final shards in the row contract and a manifest with the keys `synthgen run`
writes. Texts are short and made up; some carry Markdown, HTML, Jinja and terminal
control sequences, because model output can.
"""

from __future__ import annotations

from pathlib import Path

from synthgen.run.output import RunFolder, write_parquet
from synthgen.config.loader import build_recipe
from synthgen.generation.rows import row_id, rows_to_table

HOSTILE_QUERY = "pipes | and ``` fences ``` and {{ 7*7 }} and <script>alert(1)</script> and \x1b[31mred\x1b[0m"

RECIPE = {
    "name": "unit-run", "seed": 5, "corpus": [{"path": "unused.jsonl"}],
    "tasks": {"retrieval": {}, "sts": {"min_cosine": 0.5}, "code_retrieval": {}},
    "gates": {"cosine": {"min_score": 0.7}},
}


def make_row(task: str, i: int, query_language: str = "en", document_language: str = "en",
             negatives: int = 2, score: float | None = 0.8) -> dict:
    return {"id": row_id("unit-run", task, f"doc-{i}", 0, 5), "task": task, "instruction": f"Retrieve for {task}",
            "query": f"question {i} about topic {i % 7} for {task}", "positive": f"passage {i} on topic {i % 7}",
            "negatives": [f"other passage {i + k}" for k in range(1, negatives + 1)],
            "positive_score": score, "negative_scores": [0.5 - 0.1 * k for k in range(negatives)],
            "query_language": query_language, "document_language": document_language, "persona": "",
            "query_type": "", "difficulty": "", "label": None, "misleading_label": None,
            "similarity_positive": None, "similarity_negative": None, "source_id": f"doc-{i}",
            "generator": "HuggingFaceTB/SmolLM2-135M-Instruct", "embedder": "sentence-transformers/all-MiniLM-L6-v2"}


def mixed_rows() -> list[dict]:
    """7 retrieval rows (en, de; the first one hostile), 4 sts rows (fr, no score on one),
    3 code rows (python documents)."""
    rows = [{**make_row("retrieval", 6), "query": HOSTILE_QUERY}]
    rows += [make_row("retrieval", i, *(("de", "de") if i % 2 else ("en", "en"))) for i in range(6)]
    rows += [make_row("sts", 10 + i, "fr", "fr", negatives=1, score=None if i == 3 else 0.6) for i in range(4)]
    rows += [make_row("code_retrieval", 20 + i, "en", "python", negatives=3) for i in range(3)]
    return rows


def write_finished_run(root: Path, rows: list[dict], recipe: dict | None = None, **manifest_keys) -> RunFolder:
    """A run folder holding `rows` as its final shard and a manifest describing them."""
    recipe_dict = build_recipe(recipe or RECIPE).to_dict()
    folder = RunFolder(root)
    folder.create(overwrite=True)
    shards = [write_parquet(folder.data / "train-00000.parquet", rows_to_table(rows))] if rows else []
    counts_by: dict[str, dict] = {}
    for column in ("task", "query_language", "document_language"):
        for row in rows:
            counts_by.setdefault(column, {}).setdefault(row[column], 0)
            counts_by[column][row[column]] += 1
    removals = {"gates/cosine/low_cosine": 9, "retrieval/query/truncated_output": 3, "gates/leakage/leakage": 1}
    (folder.rejects / "gates-cosine.jsonl").write_text(
        "".join(f'{{"step":"gates/cosine","reason":"low_cosine","positive_score":{0.1 * i:.2f}}}\n' for i in range(9)))
    manifest = {
        "synthgen_version": "0.1.0", "created": "2026-11-27T00:00:00+00:00", "recipe": recipe_dict,
        "generator": "HuggingFaceTB/SmolLM2-135M-Instruct", "embedder": "sentence-transformers/all-MiniLM-L6-v2",
        "prompts": {"retrieval/query": "0" * 64},
        "counts": {"documents_read": 30, "documents_kept": 29, "work_items": 40, "generated_rows": len(rows) + 13,
                   "rows": len(rows)},
        "counts_by": {column: dict(sorted(counts_by.get(column, {}).items()))
                      for column in ("task", "query_language", "document_language")},
        "removals": removals,
        "stages": {"retrieval/configure": {"requests": 40, "prompt_tokens": 8000, "cached_tokens": 6000,
                                           "completion_tokens": 1200, "seconds": 4.0},
                   "retrieval/query": {"requests": 39, "prompt_tokens": 7000, "cached_tokens": 5000,
                                       "completion_tokens": 900, "seconds": 3.0}},
        "mining": {"advice": []}, "shards": shards, "timings": {"total_seconds": 12.5, "generation_seconds": 7.0},
        **manifest_keys,
    }
    folder.write_manifest(manifest)
    return folder
