"""Run folders built from real text without the generator, for the steps after generation.

Rows pair the first sentence of a Python standard-library docstring (the query) with the
rest of the docstring (the positive): real text nobody on the team wrote, in the exact
layout `synthgen run` leaves in `generated/`, so `synthgen filter`, `mine` and `export`
run on it as on any run.
"""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import orjson

from synthgen.corpus.readers import Document
from synthgen.run.output import RunFolder, documents_table, write_parquet
from synthgen.config.loader import build_recipe
from synthgen.generation.rows import row_id, rows_to_table


def stdlib_docstring_pairs(limit: int) -> list[tuple[str, str, str]]:
    """(source id, first sentence, rest) from module docstrings of the standard library."""
    pairs = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError):
            continue
        if not doc:
            continue
        head, _, rest = " ".join(doc.split()).partition(". ")
        if len(head.split()) >= 4 and len(rest.split()) >= 25:
            pairs.append((f"stdlib/{path.stem}", head, rest[:1500]))
        if len(pairs) == limit:
            break
    return pairs


def make_run_folder(root: Path, limit: int = 80, **recipe_overrides) -> RunFolder:
    """A run folder whose generated/ holds stdlib docstring pairs, with a manifest."""
    recipe_data = {"name": "stdlib", "seed": 3, "corpus": {"path": "unused.jsonl"},
                   "languages": {"query": {"en": 1.0}}, **recipe_overrides}
    recipe = build_recipe(recipe_data)
    folder = RunFolder(root)
    folder.create(overwrite=True)
    pairs = stdlib_docstring_pairs(limit)
    documents = [Document(sid, rest, "en") for sid, _, rest in pairs]
    rows = [{"id": row_id(recipe.name, "retrieval", sid, 0, recipe.seed), "task": "retrieval",
             "instruction": "Given a question, retrieve the documentation that answers it",
             "query": head, "positive": rest, "negatives": [], "positive_score": None, "negative_scores": [],
             "query_language": "en", "document_language": "en", "persona": "", "query_type": "summary",
             "difficulty": "university", "source_id": sid, "generator": "python-docstrings",
             "embedder": "sentence-transformers/all-MiniLM-L6-v2"} for sid, head, rest in pairs]
    write_parquet(folder.document_part_path(0), documents_table(documents))
    write_parquet(folder.part_path(0), rows_to_table(rows))
    manifest = {"recipe": recipe.to_dict(), "counts": {"generated_rows": len(rows)}, "generation_removals": {},
                "timings": {"total_seconds": 0.0}}
    folder.write_manifest(manifest)
    assert orjson.loads(folder.manifest.read_bytes())["recipe"]["name"] == "stdlib"
    return folder
