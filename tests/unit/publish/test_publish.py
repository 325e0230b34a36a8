"""`synthgen publish`'s repository folder (the upload itself is tested against a Hub
stand-in in tests/e2e/test_publish.py), its refusals, and every command's help example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
import typer
from run_folders import mixed_rows, write_finished_run
from typer.testing import CliRunner

from synthgen.cli import app
from synthgen.errors import UserError
from synthgen.publish.hub import MANIFEST_NAME, NO_TOKEN, publish_run


def test_layout_one_folder_per_task_numbered_files(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    published = publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "repo", rows_per_file=3)
    files = sorted(p.relative_to(tmp_path / "repo").as_posix() for p in (tmp_path / "repo" / "data").rglob("*"))
    assert [f for f in files if f.endswith(".parquet")] == [
        "data/code_retrieval/train-00000-of-00001.parquet",
        "data/retrieval/train-00000-of-00003.parquet", "data/retrieval/train-00001-of-00003.parquet",
        "data/retrieval/train-00002-of-00003.parquet",
        "data/sts/train-00000-of-00002.parquet", "data/sts/train-00001-of-00002.parquet"]
    retrieval = pq.read_table(tmp_path / "repo" / "data" / "retrieval")
    assert retrieval.num_rows == 7 and set(retrieval.column("task").to_pylist()) == {"retrieval"}
    assert retrieval.schema.names == pq.read_schema(tmp_path / "run" / "data" / "train-00000.parquet").names
    assert [(c.name, c.rows, c.min_negatives) for c in published.configs] == [
        ("all", 14, 1), ("code_retrieval", 3, 3), ("retrieval", 7, 2), ("sts", 4, 1)]
    for name in ("README.md", MANIFEST_NAME, "images/tasks.png", "images/stages.png"):
        assert (tmp_path / "repo" / name).is_file()


def test_republishing_replaces_its_own_folder_and_keeps_other_files(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "repo", rows_per_file=3)
    (tmp_path / "repo" / "LICENSE").write_text("terms")
    publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "repo")
    assert sorted(p.name for p in (tmp_path / "repo" / "data" / "retrieval").iterdir()) == [
        "train-00000-of-00001.parquet"]  # no stale shard for the glob to pick up
    assert (tmp_path / "repo" / "LICENSE").read_text() == "terms"


def test_a_foreign_folder_is_refused(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="holds files synthgen did not write"):
        publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("kwargs, message", [
    ({"repo_id": "no-slash"}, "--repo-id must look like ORG/NAME"),
    ({"repo_id": "o/n", "license_id": "Apache 2"}, "--license must be a Hub license id"),
    ({"repo_id": "o/n", "rows_per_file": 0}, "--rows-per-file must be >= 1"),
])
def test_bad_options_are_one_line(tmp_path, kwargs, message):
    write_finished_run(tmp_path / "run", mixed_rows())
    with pytest.raises(UserError, match=message):
        publish_run(tmp_path / "run", dry_run=tmp_path / "repo", **kwargs)


def test_a_run_without_rows_is_not_published(tmp_path):
    write_finished_run(tmp_path / "run", [])
    with pytest.raises(UserError, match="no rows to publish"):
        publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "repo")


def test_missing_token_is_one_line_with_the_fix(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_ENDPOINT="http://127.0.0.1:9")  # no login cache, no Hub
    result = subprocess.run([str(Path(sys.executable).with_name("synthgen")), "publish", str(tmp_path / "run"),
                             "--repo-id", "o/n"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == f"error: {NO_TOKEN}\n"
    assert not (tmp_path / "run" / "hub").exists()  # refused before any work


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("command", list(_commands(typer.main.get_command(app))), ids=" ".join)
def test_every_command_help_shows_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"Example: synthgen {' '.join(command)}" in result.output


def test_top_level_help_shows_an_example():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert "Example: synthgen run recipes/demo.toml" in result.output
