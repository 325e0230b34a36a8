"""`synthgen filter` and `synthgen mine`: the finalize pass again over a finished run
(synthgen/run/refinalize.py), through the library and through the CLI."""

from __future__ import annotations

import orjson
import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, write_corpus
from typer.testing import CliRunner

from synthgen.cli import app
from synthgen.errors import UserError
from synthgen.run import refinalize as refinalize_module
from synthgen.run.pipeline import Pipeline
from synthgen.run.refinalize import refinalize
from synthgen.shards.finished_run import FinishedRun


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("refinalize")
    out = root / "out"
    Pipeline(recipe(write_corpus(root / "c.jsonl")), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    return out


def test_refinalize_applies_the_overrides_and_records_the_pass(finished):
    before = orjson.loads((finished / "manifest.json").read_bytes())
    done = refinalize(FinishedRun.open(finished), ["mining.num_negatives=1"], ("mining.",), "mine", HashEmbedder())
    manifest = orjson.loads((finished / "manifest.json").read_bytes())
    assert manifest["recipe"]["mining"]["num_negatives"] == 1 != before["recipe"]["mining"]["num_negatives"]
    assert manifest["counts"]["rows"] == done.report.rows_out and done.report.rows_in == before["counts"]["generated_rows"]
    lines = done.lines()
    assert lines[0] == f"{done.report.rows_in} generated rows -> {done.report.rows_out} kept ({done.seconds:.1f} s)"
    assert lines[1:] == ([f"  removed {k}: {v}" for k, v in done.report.removals.items()]
                         + [f"  {line}" for line in done.report.advice])


def test_refinalize_changes_only_the_commands_keys(finished):
    with pytest.raises(UserError, match=r"--set mining.num_negatives=2: this command changes only gates\.\* keys"):
        refinalize(FinishedRun.open(finished), ["mining.num_negatives=2"], ("gates.",), "filter", HashEmbedder())


def test_filter_prints_the_pass(finished, monkeypatch):
    monkeypatch.setattr(refinalize_module, "load_embedder", lambda config: HashEmbedder())
    result = CliRunner().invoke(app, ["filter", str(finished), "--set", "gates.generic.enabled=false"])
    assert result.exit_code == 0, result.output
    assert " generated rows -> " in result.output.splitlines()[0] and " kept (" in result.output
    assert orjson.loads((finished / "manifest.json").read_bytes())["recipe"]["gates"]["generic"]["enabled"] is False


def test_the_manifest_says_where_and_how_much_the_pass_embedded(finished):
    done = refinalize(FinishedRun.open(finished), [], ("gates.",), "filter", HashEmbedder())
    embedding = orjson.loads((finished / "manifest.json").read_bytes())["finalize_embedding"]
    documents = sum(1 for line in (finished.parent / "c.jsonl").read_bytes().splitlines() if line.strip())
    assert embedding == done.report.embedding and embedding["where"] == "local"
    assert embedding["texts"] >= documents + done.report.rows_out  # the corpus and every kept row's query
    assert 1 <= embedding["chunks"] <= embedding["texts"]


def test_an_unknown_executor_is_one_line_and_exit_2(finished):
    result = CliRunner().invoke(app, ["mine", str(finished), "--executor", "slurm"])
    assert result.exit_code == 2
    assert "--executor: 'slurm' is not an executor (local or ray)" in result.output
