"""`synthgen filter` and `synthgen mine` on an existing run: the gates' invariants, honest
counts, idempotence, and thresholds that can be loosened again. Real embedder, real CLI;
rows are standard-library docstring pairs (tests/e2e/runs.py) plus planted duplicates."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.corpus.text import normalize_text
from synthgen.run.output import write_parquet
from synthgen.generation.rows import rows_to_table
from tests.e2e.conftest import synthgen_cli
from tests.e2e.runs import make_run_folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = make_run_folder(tmp_path_factory.mktemp("run") / "stdlib", limit=60,
                             gates={"cosine": {"min_score": 0.4}, "language": {"enabled": False}})
    rows = pq.read_table(folder.part_path(0)).to_pylist()
    planted = []
    for i, original in enumerate(rows[:6]):  # exact and near duplicates of real rows, and a copy
        twin = dict(original, id=f"zz-dup-{i}")
        twin["query"] = original["query"].upper() + "!" if i % 2 else original["query"] + " please"
        planted.append(twin)
    copy = dict(rows[7], id="zz-leak", query=" ".join(rows[7]["positive"].split()[:20]))
    write_parquet(folder.part_path(1), rows_to_table(planted + [copy]))
    result = synthgen_cli("filter", str(folder.root))
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


def _manifest(folder):
    return orjson.loads(folder.manifest.read_bytes())


def _rows(folder):
    return pq.read_table(folder.data).to_pylist()


def test_gates_hold_on_the_output(run):
    rows = _rows(run)
    assert len(rows) >= 10
    queries = [normalize_text(r["query"]) for r in rows]
    assert len(set(queries)) == len(queries)
    for row in rows:
        assert row["positive_score"] >= 0.4
        assert 1 <= len(row["negatives"]) <= 3
        assert row["positive"] not in row["negatives"]
        assert all(s < 0.95 * row["positive_score"] for s in row["negative_scores"])
        assert row["negative_scores"] == sorted(row["negative_scores"], reverse=True)


def test_planted_duplicates_and_copies_are_removed_with_reasons(run):
    ids = {r["id"] for r in _rows(run)}
    assert not any(i.startswith("zz-") for i in ids)
    rejects = [orjson.loads(line) for f in run.rejects.glob("gates-*.jsonl") for line in f.read_bytes().splitlines()]
    by_id = {r["id"]: r for r in rejects}
    assert by_id["zz-dup-1"]["reason"] == "duplicate_pair"
    assert by_id["zz-dup-0"]["reason"] == "near_duplicate_query" and by_id["zz-dup-0"]["jaccard"] >= 0.8
    assert by_id["zz-leak"]["reason"] == "leakage"


def test_removals_add_up(run):
    manifest = _manifest(run)
    removed = sum(manifest["gate_removals"].values())
    assert manifest["counts"]["rows"] + removed == 67  # 60 generated + 7 planted
    assert manifest["counts"]["rows"] == len(_rows(run)) == sum(s["rows"] for s in manifest["shards"])
    lines = sum(len(f.read_bytes().splitlines()) for f in run.rejects.glob("*.jsonl"))
    assert lines == removed


def test_filter_is_idempotent(run):
    before = [s["sha256"] for s in _manifest(run)["shards"]]
    result = synthgen_cli("filter", str(run.root))
    assert result.returncode == 0, result.stderr[-2000:]
    assert [s["sha256"] for s in _manifest(run)["shards"]] == before


def test_loosening_a_threshold_brings_rows_back_and_mine_changes_negatives(run):
    kept = _manifest(run)["counts"]["rows"]
    result = synthgen_cli("filter", str(run.root), "--set", "gates.cosine.min_score=0.1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _manifest(run)["counts"]["rows"] > kept
    result = synthgen_cli("mine", str(run.root), "--set", "mining.num_negatives=1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert all(len(r["negatives"]) == 1 for r in _rows(run))
    assert _manifest(run)["recipe"]["mining"]["num_negatives"] == 1
    again = [s["sha256"] for s in _manifest(run)["shards"]]
    assert synthgen_cli("mine", str(run.root), "--set", "mining.num_negatives=1").returncode == 0
    assert [s["sha256"] for s in _manifest(run)["shards"]] == again


def test_filter_refuses_keys_it_does_not_own(run):
    result = synthgen_cli("filter", str(run.root), "--set", "mining.num_negatives=2")
    assert result.returncode == 2 and "only gates." in result.stderr


def test_round_trip_consistency_keeps_only_rows_whose_positive_ranks_first(run):
    result = synthgen_cli("filter", str(run.root), "--set", "gates.consistency.enabled=true",
                          "--set", "gates.consistency.top_k=1", "--set", "gates.cosine.min_score=0.1")
    assert result.returncode == 0, result.stderr[-2000:]
    rejects = [orjson.loads(line) for line in (run.rejects / "gates-consistency.jsonl").read_bytes().splitlines()]
    assert rejects and all(r["reason"] == "positive_not_in_top_k" and r["positive_rank"] >= 1 for r in rejects)
    manifest = _manifest(run)
    assert manifest["gate_removals"]["gates/consistency/positive_not_in_top_k"] == len(rejects)
    assert manifest["counts"]["rows"] + sum(manifest["gate_removals"].values()) == 67
