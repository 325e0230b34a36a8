"""Yield and cost per cell (synthgen/run/cells.py): work items, generated and kept rows and
tokens per (task, query language, query type, difficulty), in the manifest and `inspect`."""

from __future__ import annotations

import orjson
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, write_corpus
from typer.testing import CliRunner

from synthgen.run.cells import cell_key, worst_cells, yield_table
from synthgen.cli import app
from synthgen.run.pipeline import Pipeline


def test_the_manifest_counts_every_work_item_row_and_token_in_one_cell(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    Pipeline(recipe(corpus), tmp_path / "out", SeededEngine(), HashEmbedder(), show_progress=False).run()
    manifest = orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())
    table, counts = manifest["yield"], manifest["counts"]
    assert sum(e["items"] for e in table) == counts["work_items"]
    assert sum(e["generated"] for e in table) == counts["generated_rows"]
    assert sum(e["kept"] for e in table) == counts["rows"]
    tokens = sum(c["prompt_tokens"] + c["completion_tokens"] for c in manifest["cells"].values())
    brainstorm = sum(s["prompt_tokens"] + s["completion_tokens"] for n, s in manifest["stages"].items()
                     if n.endswith("/brainstorm"))  # spent for the run, not for a work item
    assert tokens == sum(s["prompt_tokens"] + s["completion_tokens"] for s in manifest["stages"].values()) - brainstorm
    retrieval = [e for e in table if e["cell"].startswith("retrieval/en/")]
    assert retrieval and all(len(e["cell"].split("/")) == 4 for e in table)


def test_worst_cells_keep_the_smallest_share_of_enough_items():
    cells = {cell_key("retrieval", "en", "keywords", "phd"): {"items": 10, "generated": 8, "prompt_tokens": 900,
                                                               "completion_tokens": 100},
             cell_key("retrieval", "de", "summary", "phd"): {"items": 10, "generated": 2, "prompt_tokens": 900,
                                                              "completion_tokens": 100},
             cell_key("retrieval", "fr", "summary", "phd"): {"items": 2, "generated": 0, "prompt_tokens": 90,
                                                              "completion_tokens": 10}}
    kept = {cell_key("retrieval", "en", "keywords", "phd"): 5}
    table = yield_table(cells, kept)
    en = next(e for e in table if e["cell"] == "retrieval/en/keywords/phd")
    assert en["kept_share"] == 0.5 and en["tokens_per_kept_row"] == 200
    assert [e["cell"] for e in worst_cells(table)] == ["retrieval/de/summary/phd", "retrieval/en/keywords/phd"]


def test_inspect_names_the_worst_cells(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    Pipeline(recipe(corpus), tmp_path / "out", SeededEngine(), HashEmbedder(), show_progress=False).run()
    output = CliRunner().invoke(app, ["inspect", str(tmp_path / "out"), "--rows", "0"]).output
    assert "worst cells (task/query language/query type/difficulty" in output
