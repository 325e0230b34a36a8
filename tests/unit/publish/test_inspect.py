"""`synthgen inspect`: the summary and sample rows, through the real CLI (typer's CliRunner)."""

from __future__ import annotations

from run_folders import mixed_rows, write_finished_run
from typer.testing import CliRunner

from synthgen.cli import app


def inspect(*args: str):
    return CliRunner().invoke(app, ["inspect", *args])


def test_summary_names_models_counts_reasons_and_stages(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    result = inspect(str(tmp_path), "--rows", "0")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "generator:        HuggingFaceTB/SmolLM2-135M-Instruct" in lines
    assert "embedder:         sentence-transformers/all-MiniLM-L6-v2" in lines
    assert "rows:             14" in lines
    assert "tasks:              retrieval 7, sts 4, code_retrieval 3" in lines
    assert "query languages:    en 7, fr 4, de 3" in lines
    assert "removed: 13 items; top 3 reasons:" in lines
    assert "           9   69.2%  gates/cosine/low_cosine" in lines
    assert ("  retrieval/configure: 40 requests, 8,000 prompt tokens (75% cached), 1,200 generated, 4.0 s, "
            "300 tok/s") in lines
    assert "wall time:        12.5 s" in lines
    assert "sample rows" not in result.output


def test_sample_rows_default_three(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    result = inspect(str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "sample rows (3 of 14):" in result.output
    assert result.output.count("\n--- ") == 3


def test_task_filter_and_terminal_safe_rows(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    result = inspect(str(tmp_path), "--task", "retrieval", "--rows", "1")
    assert result.exit_code == 0, result.output
    assert "sample rows (1 of 7, task retrieval):" in result.output
    assert "--- 1. retrieval  en -> en  positive score 0.800  2 negatives (best 0.500)" in result.output
    assert "\x1b" not in result.output and "[31mred" in result.output  # the escape byte is dropped


def test_unknown_task_is_one_line(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    result = inspect(str(tmp_path), "--task", "bitext")
    assert result.exit_code == 2
    assert result.output == "error: --task bitext: not a task of this run (its tasks: code_retrieval, retrieval, sts)\n"


def test_folder_without_manifest_is_one_line(tmp_path):
    result = inspect(str(tmp_path))
    assert result.exit_code == 2
    assert result.output == (f"error: {tmp_path}: no manifest.json, not a finished run "
                             f"(run `synthgen run RECIPE --out {tmp_path}` first)\n")


def test_run_that_kept_nothing(tmp_path):
    write_finished_run(tmp_path, [])
    result = inspect(str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "tasks:              none" in result.output and "sample rows (0 of 0):" in result.output
