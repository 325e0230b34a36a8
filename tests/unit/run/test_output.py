"""synthgen.run.output: atomic Parquet shards, the run folder and the reject log."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.corpus.readers import Reject
from synthgen.errors import UserError
from synthgen.run.output import (RejectLog, RunFolder, ShardWriter, atomic_write_bytes, count_values, file_sha256,
                                 write_parquet)
from synthgen.generation.rows import ROW_SCHEMA, rows_to_table


def make_row(i: int) -> dict:
    return {
        "id": f"row-{i:04d}", "task": "retrieval", "instruction": "Given a query, retrieve passages",
        "query": f"query {i}", "positive": f"passage {i}", "negatives": [f"neg {i}a", f"neg {i}b"],
        "positive_score": 0.5 + i / 1000, "negative_scores": [0.25, 0.125], "query_language": "en",
        "document_language": "de", "persona": "a baker", "query_type": "summary", "difficulty": "phd",
        "source_id": f"doc-{i}", "generator": "gen/model", "embedder": "emb/model",
    }


def table(start: int, count: int):
    return rows_to_table([make_row(i) for i in range(start, start + count)])


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_with_datasets(files: list[Path], cache: Path):
    import datasets

    return datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train",
                                 cache_dir=str(cache))


# write_parquet ---------------------------------------------------------------------------

def test_write_parquet_is_atomic_and_reports_the_shard(tmp_path):
    path = tmp_path / "train-00000.parquet"
    entry = write_parquet(path, table(0, 5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-00000.parquet"]  # no temp file left
    assert entry == {"path": "train-00000.parquet", "rows": 5, "sha256": sha256_of(path)}
    assert file_sha256(path) == sha256_of(path)
    written = pq.read_table(path)
    assert written.schema.equals(ROW_SCHEMA)
    assert written.to_pylist() == table(0, 5).to_pylist()
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression.lower() == "zstd"


def test_write_parquet_replaces_an_existing_file(tmp_path):
    path = tmp_path / "part.parquet"
    write_parquet(path, table(0, 3))
    entry = write_parquet(path, table(10, 2))
    assert entry["rows"] == 2
    assert pq.read_table(path).column("id").to_pylist() == ["row-0010", "row-0011"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.parquet"]


def test_atomic_write_bytes(tmp_path):
    path = tmp_path / "manifest.json"
    atomic_write_bytes(path, b"{}")
    atomic_write_bytes(path, b'{"a": 1}')
    assert path.read_bytes() == b'{"a": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


# ShardWriter -----------------------------------------------------------------------------

def test_shard_writer_splits_by_rows_per_file(tmp_path):
    writer = ShardWriter(tmp_path, rows_per_file=4)
    for start, count in [(0, 3), (3, 3), (6, 5)]:  # 11 rows, in uneven tables
        writer.add(table(start, count))
    shards = writer.close()
    assert [s["path"] for s in shards] == ["train-00000.parquet", "train-00001.parquet", "train-00002.parquet"]
    assert [s["rows"] for s in shards] == [4, 4, 3]
    for shard in shards:
        assert shard["sha256"] == sha256_of(tmp_path / shard["path"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [s["path"] for s in shards]
    ids = [i for s in shards for i in pq.read_table(tmp_path / s["path"]).column("id").to_pylist()]
    assert ids == [f"row-{i:04d}" for i in range(11)]  # order kept, nothing lost or repeated


def test_shard_writer_exact_multiple_and_one_big_table(tmp_path):
    writer = ShardWriter(tmp_path, rows_per_file=3)
    writer.add(table(0, 9))
    shards = writer.close()
    assert [s["rows"] for s in shards] == [3, 3, 3]
    assert writer.close() == shards  # closing again writes nothing new
    assert len(list(tmp_path.glob("*.parquet"))) == 3


def test_shard_writer_with_no_rows(tmp_path):
    writer = ShardWriter(tmp_path, rows_per_file=10)
    writer.add(table(0, 0))
    assert writer.close() == []
    assert list(tmp_path.iterdir()) == []


def test_shards_load_with_datasets(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    writer = ShardWriter(data, rows_per_file=2)
    writer.add(table(0, 5))
    shards = writer.close()
    ds = load_with_datasets([data / s["path"] for s in shards], tmp_path / "hf-cache")
    assert ds.num_rows == 5
    assert ds.column_names == ROW_SCHEMA.names
    assert ds["id"] == [f"row-{i:04d}" for i in range(5)]
    first = ds[0]
    assert first["negatives"] == ["neg 0a", "neg 0b"]
    assert first["negative_scores"] == [0.25, 0.125]
    assert first["positive_score"] == pytest.approx(0.5)
    assert ds.features["positive_score"].dtype == "float32"


# RunFolder -------------------------------------------------------------------------------

def test_run_folder_layout(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.create(overwrite=False)
    for sub in ("generated", "data", "rejects"):
        assert (tmp_path / "run" / sub).is_dir()
    assert folder.part_path(3) == tmp_path / "run" / "generated" / "part-00003.parquet"
    write_parquet(folder.part_path(1), table(0, 1))
    write_parquet(folder.part_path(0), table(1, 1))
    assert [p.name for p in folder.parts()] == ["part-00000.parquet", "part-00001.parquet"]
    folder.write_manifest({"b": 1, "a": [1, 2]})
    assert orjson.loads(folder.manifest.read_bytes()) == {"a": [1, 2], "b": 1}


def test_empty_existing_folder_is_fine(tmp_path):
    RunFolder(tmp_path).create(overwrite=False)
    assert (tmp_path / "data").is_dir()


def test_run_folder_refuses_an_existing_run(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.create(overwrite=False)
    write_parquet(folder.part_path(0), table(0, 2))
    folder.write_manifest({"rows": 2})
    with pytest.raises(UserError) as info:
        RunFolder(tmp_path / "run").create(overwrite=False)
    assert "--overwrite" in str(info.value)
    assert folder.manifest.exists() and folder.part_path(0).exists()  # nothing was touched


def test_run_folder_refuses_a_crashed_run_without_manifest(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.create(overwrite=False)
    write_parquet(folder.part_path(0), table(0, 2))
    with pytest.raises(UserError):
        folder.create(overwrite=False)


def test_run_folder_overwrite_clears_the_run(tmp_path):
    root = tmp_path / "run"
    folder = RunFolder(root)
    folder.create(overwrite=False)
    write_parquet(folder.part_path(0), table(0, 2))
    write_parquet(folder.data / "train-00000.parquet", table(0, 2))
    (folder.rejects / "corpus.jsonl").write_text("{}\n")
    folder.write_manifest({"rows": 2})
    (root / "notes.txt").write_text("mine")
    RunFolder(root).create(overwrite=True)
    assert not folder.manifest.exists()
    for sub in (folder.generated, folder.data, folder.rejects):
        assert sub.is_dir() and list(sub.iterdir()) == []
    assert (root / "notes.txt").read_text() == "mine"  # only the run's own files are removed


def test_run_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot create output folder"):
        RunFolder(blocker / "run").create(overwrite=False)


# RejectLog -------------------------------------------------------------------------------

def test_reject_log_appends_and_counts(tmp_path):
    log = RejectLog(tmp_path)
    log.write([Reject("corpus", "empty_text", "a"), Reject("corpus", "too_long", "b", {"chars": 99})])
    log.write([Reject("corpus", "empty_text", "c"),
               Reject("retrieval/configure", "invalid_json", "d", {"raw": "not json"})])
    log.write([])
    assert log.counts == {"corpus/empty_text": 2, "corpus/too_long": 1, "retrieval/configure/invalid_json": 1}
    corpus = [orjson.loads(line) for line in (tmp_path / "corpus.jsonl").read_bytes().splitlines()]
    assert corpus == [
        {"step": "corpus", "reason": "empty_text", "source_id": "a"},
        {"step": "corpus", "reason": "too_long", "source_id": "b", "chars": 99},
        {"step": "corpus", "reason": "empty_text", "source_id": "c"},
    ]
    stage = (tmp_path / "retrieval-configure.jsonl").read_bytes()
    assert stage.endswith(b"\n")
    assert orjson.loads(stage) == {"step": "retrieval/configure", "reason": "invalid_json", "source_id": "d",
                                   "raw": "not json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl", "retrieval-configure.jsonl"]


def test_reject_log_appends_to_an_existing_file(tmp_path):
    RejectLog(tmp_path).write([Reject("corpus", "no_text", "a")])
    second = RejectLog(tmp_path)
    second.write([Reject("corpus", "no_text", "b")])
    assert second.counts == {"corpus/no_text": 1}
    lines = (tmp_path / "corpus.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["source_id"] for line in lines] == ["a", "b"]


def test_reject_log_serializes_unusual_details(tmp_path):
    log = RejectLog(tmp_path)
    log.write([Reject("corpus", "undecodable", "p", {"path": Path("x/y"), "text": "línea\nzwei"})])
    (line,) = (tmp_path / "corpus.jsonl").read_bytes().splitlines()
    assert orjson.loads(line)["path"] == "x/y"
    assert orjson.loads(line)["text"] == "línea\nzwei"


def test_count_values_adds_up_tables_and_batches_per_column():
    rows = [make_row(i) for i in range(5)]
    rows[1]["query_language"] = "fr"
    rows[2]["persona"] = None  # a null counts as ""
    first, second = rows_to_table(rows[:3]), rows_to_table(rows[3:])
    counts = count_values([first, *second.to_batches()], ["query_language", "persona", "task"])
    assert counts == {"query_language": {"en": 4, "fr": 1}, "persona": {"": 1, "a baker": 4}, "task": {"retrieval": 5}}
    assert list(counts["query_language"]) == ["en", "fr"]  # values sorted
    assert count_values([], ["task"]) == {"task": {}}
