"""synthgen never deletes or overwrites a file it did not write: folders it writes into carry
its marker (synthgen/run/owned_folders.py), and every command that replaces files checks it.

Through the real CLI (typer's CliRunner) where the issue names a command and its exit code;
the engines are the stand-ins of tests/unit/fakes.py.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fakes import HashEmbedder, SeededEngine
from run_folders import mixed_rows, write_finished_run
from small_runs import recipe, write_corpus
from typer.testing import CliRunner

from synthgen.run import finalize
from synthgen.cli import app
from synthgen.errors import UserError
from synthgen.run.executors import ShardSpec
from synthgen.shards.export import export_run
from synthgen.run.merge import merge_runs
from synthgen.run.owned_folders import MARKER, claim_folder, folder_kind
from synthgen.run.output import replace_folder
from synthgen.run.pipeline import Pipeline
from synthgen.publish.hub import delete_stale_files, publish_run


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def users_folder(tmp_path):
    """A folder of the user's with a Parquet file in data/, the name a run writes."""
    folder = tmp_path / "mine"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), folder / "data" / "x.parquet")
    return folder


def _untouched(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_into_a_users_folder_is_refused_with_exit_2_and_nothing_touched(users_folder, tmp_path):
    before = _untouched(users_folder)
    recipe_path = tmp_path / "r.toml"
    recipe_path.write_text(f'name = "x"\n[corpus]\npath = "{write_corpus(tmp_path / "c.jsonl")}"\n')
    for extra in ([], ["--overwrite"]):
        result = cli("run", str(recipe_path), "--out", str(users_folder), *extra)
        assert result.exit_code == 2, result.output
        assert "holds files synthgen did not write" in result.output and "Traceback" not in result.output
        assert _untouched(users_folder) == before


def test_overwrite_refuses_a_folder_that_merely_holds_a_manifest(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"counts": {}}')
    (folder / "state.json").write_text('{"not": "a run state"}')
    corpus = write_corpus(tmp_path / "c.jsonl")
    with pytest.raises(UserError, match="holds files synthgen did not write"):
        Pipeline(recipe(corpus), folder, SeededEngine(), HashEmbedder(), show_progress=False).run(overwrite=True)
    assert (folder / "manifest.json").read_text() == '{"counts": {}}'


def test_a_run_marks_its_folder_first_and_overwrite_replaces_only_its_own_files(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    assert folder_kind(out) == "run" and (out / MARKER).is_file()
    (out / "notes.txt").write_text("mine")
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run(overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "manifest.json").is_file()


def test_overwrite_through_a_relative_out_leaves_no_part_of_the_earlier_run(tmp_path, monkeypatch):
    """`make demo` passes `--out outputs/demo`: an earlier run cut into more shards must not
    leave its last parts behind (their rows would come back beside the new run's)."""
    corpus = write_corpus(tmp_path / "c.jsonl")
    monkeypatch.chdir(tmp_path)
    Pipeline(recipe(corpus), "out", SeededEngine(), HashEmbedder(), show_progress=False).run()
    before = len(list((tmp_path / "out" / "generated").glob("part-*.parquet")))
    wide = recipe(corpus, run={"shard_size": 1000})
    Pipeline(wide, "out", SeededEngine(), HashEmbedder(), show_progress=False).run(overwrite=True)
    parts = sorted((tmp_path / "out" / "generated").glob("part-*.parquet"))
    assert before > 1 and [p.name for p in parts] == ["part-00000.parquet"]
    ids = [i for p in parts for i in pq.read_table(p, columns=["id"]).column("id").to_pylist()]
    assert len(ids) == len(set(ids))


def test_an_older_synthgen_run_without_a_marker_is_still_ours(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    (out / MARKER).unlink()
    assert folder_kind(out) == "run"  # its state.json is a run checkpoint
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run(overwrite=True)
    assert (out / MARKER).is_file()


@pytest.mark.parametrize("where", ["same", "inside"])
def test_merge_into_one_of_its_parts_is_refused(tmp_path, where):
    corpus = write_corpus(tmp_path / "c.jsonl")
    parts = []
    for i in range(2):
        part = tmp_path / f"part-{i}"
        Pipeline(recipe(corpus), part, SeededEngine(), HashEmbedder(), show_progress=False,
                 shard=ShardSpec(i, 2)).run()
        parts.append(part)
    before = _untouched(parts[0])
    out = parts[0] if where == "same" else parts[0] / "merged"
    with pytest.raises(UserError, match="overlaps the shard run"):
        merge_runs(parts, out, overwrite=True, embedder=HashEmbedder())
    assert _untouched(parts[0]) == before


def test_filter_and_mine_refuse_a_folder_synthgen_did_not_mark(tmp_path):
    run = write_finished_run(tmp_path / "run", mixed_rows()).root
    (run / MARKER).unlink()
    for command in ("filter", "mine"):
        result = cli(command, str(run))
        assert result.exit_code == 2 and f"{command} {run}: not a folder synthgen wrote as a run" in result.output


@pytest.mark.parametrize("content, missing", [(b"[1, 2]", "a JSON object is expected"),
                                              (b'{"recipe": {"name": "x"}}', "lacks counts, generation_removals"),
                                              (b'{"counts": ', "not valid JSON")])
def test_filter_on_a_corrupt_or_partial_manifest_is_one_line(tmp_path, content, missing):
    run = write_finished_run(tmp_path / "run", mixed_rows()).root
    (run / "manifest.json").write_bytes(content)
    result = cli("filter", str(run))
    assert result.exit_code == 2 and missing in result.output and "Traceback" not in result.output


def test_a_finalize_pass_that_dies_leaves_data_and_rejects_as_they_were(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    before = {**_untouched(out / "data"), **{f"rejects/{k}": v for k, v in _untouched(out / "rejects").items()}}

    def dies(*args, **kwargs):
        raise RuntimeError("killed mid-way")

    monkeypatch.setattr(finalize, "mine_negatives", dies)
    with pytest.raises(RuntimeError):
        finalize.Finalizer(finalize.RunFolder(out), recipe(corpus), HashEmbedder()).run()
    after = {**_untouched(out / "data"), **{f"rejects/{k}": v for k, v in _untouched(out / "rejects").items()}}
    assert after == before


def test_replace_folder_swaps_contents(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "old.parquet").write_text("old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "train.parquet").write_text("new")
    replace_folder(tmp_path / "new", tmp_path / "data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["train.parquet"]


def test_a_publish_staging_that_died_half_way_is_rerun_into_the_same_folder(tmp_path):
    run = write_finished_run(tmp_path / "run", mixed_rows()).root
    staging = tmp_path / "hub"
    claim_folder(staging, "publish", "publish folder")  # what a dead first attempt leaves: the mark,
    (staging / "data" / "retrieval").mkdir(parents=True)  # part of the data, no card, no manifest
    (staging / "data" / "retrieval" / "train-00000-of-00009.parquet").write_text("half")
    published = publish_run(run, "o/n", dry_run=staging)
    assert (staging / "README.md").is_file()
    assert not (staging / "data" / "retrieval" / "train-00000-of-00009.parquet").exists()
    assert published.configs


def test_the_large_upload_path_deletes_stale_shards_in_one_commit(tmp_path):
    (tmp_path / "data" / "retrieval").mkdir(parents=True)
    (tmp_path / "data" / "retrieval" / "train-00000-of-00001.parquet").write_text("x")

    class Api:
        commits: list = []

        def list_repo_files(self, repo_id, repo_type, revision):
            return ["README.md", "data/retrieval/train-00000-of-00001.parquet",
                    "data/retrieval/train-00001-of-00002.parquet", "images/old.png", "notes/keep.md"]

        def create_commit(self, **kwargs):
            self.commits.append(kwargs)

    api = Api()
    stale = delete_stale_files(api, tmp_path, "o/n", None)
    assert stale == ["data/retrieval/train-00001-of-00002.parquet", "images/old.png"]
    assert [op.path_in_repo for op in api.commits[0]["operations"]] == stale


def test_export_refuses_a_file_a_users_folder_and_a_read_only_folder(tmp_path, users_folder):
    run = write_finished_run(tmp_path / "run", mixed_rows()).root
    (tmp_path / "file").write_text("x")
    for out, message in ((tmp_path / "file", "is a file"), (users_folder, "holds files synthgen did not write")):
        result = cli("export", str(run), "--out", str(out))
        assert result.exit_code == 2 and message in result.output, result.output
    if os.geteuid() != 0:  # root writes into read-only folders anyway
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = cli("export", str(run), "--out", str(locked / "st"))
        assert result.exit_code == 2 and "Permission denied" in result.output
    again = export_run(run, tmp_path / "st", "sentence-transformers")
    assert export_run(run, tmp_path / "st", "sentence-transformers").path == again.path  # ours: rewritten


@pytest.mark.parametrize("content, shown", [(b"{}", None), (b'{"recipe": {"name": "x"}}', None),
                                            (b'{"counts": 5, "recipe": {}}', "counts must be a JSON object, got int"),
                                            (b'{"stages": [], "recipe": {}}', "stages must be a JSON object, got list")])
def test_report_inspect_and_publish_read_partial_manifests_or_stop_in_one_line(tmp_path, content, shown):
    run = write_finished_run(tmp_path / "run", mixed_rows()).root
    (run / "manifest.json").write_bytes(content)
    for args in (["report", str(run)], ["inspect", str(run)],
                 ["publish", str(run), "--repo-id", "o/n", "--dry-run", str(tmp_path / "hub")]):
        result = cli(*args)
        if shown is None:
            assert result.exit_code == 0, (args[0], result.output)
        else:
            assert result.exit_code == 2 and shown in result.output, (args[0], result.output)
