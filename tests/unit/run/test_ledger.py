"""Exactly-once accounting (synthgen/run/ledger.py): every work item ends once as a generated
row or a stage reject, every generated row once in data/ or a gate reject; breaches are named.

Runs use the deterministic stand-in engine; the real engine's runs are audited in
tests/e2e (SIGKILL trials, a killed server, Ray, shard runs).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, write_corpus

from synthgen.run.ledger import GENERATED, KEPT, audit_run
from synthgen.run.output import write_parquet
from synthgen.run.pipeline import Pipeline


@pytest.fixture
def run(tmp_path) -> Path:
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    Pipeline(recipe(corpus), tmp_path / "out", SeededEngine(), HashEmbedder(), show_progress=False).run()
    return tmp_path / "out"


def _stage_reject_files(out: Path) -> list[Path]:
    return [p for p in sorted((out / "rejects").glob("*.jsonl"))
            if any(orjson.loads(line).get("id") and "variant" in orjson.loads(line)
                   for line in p.read_bytes().splitlines())]


def test_a_clean_run_accounts_for_every_work_item_once(run):
    ledger = audit_run(run)
    assert ledger.ok, ledger.problems
    manifest = orjson.loads((run / "manifest.json").read_bytes())
    assert len(ledger.work_items) == manifest["counts"]["work_items"] == 14 * 2  # documents x queries_per_document
    outcomes = ledger.outcomes()
    assert outcomes[GENERATED] == manifest["counts"]["generated_rows"]
    assert sum(n for end, n in outcomes.items() if end != GENERATED) > 0  # the engine's "not json" answers
    assert sum(end == KEPT for end in ledger.final.values()) == manifest["counts"]["rows"]
    assert set(ledger.final) == {i for i, end in ledger.work_items.items() if end == GENERATED}


def test_stage_rejects_carry_the_id_of_the_row_the_item_would_have_become(run):
    rejected = [orjson.loads(line) for p in _stage_reject_files(run) for line in p.read_bytes().splitlines()]
    assert rejected and all(len(r["id"]) == 16 for r in rejected)
    rows = {r for p in sorted((run / "generated").glob("part-*.parquet")) for r in pq.read_table(p)["id"].to_pylist()}
    assert not rows & {r["id"] for r in rejected}


def test_a_resumed_run_has_the_work_items_of_a_clean_run(run, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    out = tmp_path / "resumed"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(die_at_call=6), HashEmbedder(), show_progress=False).run()
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    resumed = audit_run(out)
    assert resumed.ok, resumed.problems
    assert resumed.work_items == audit_run(run).work_items


def test_a_stage_reject_written_twice_is_named(run):
    path = _stage_reject_files(run)[0]
    first = path.read_bytes().splitlines()[0]
    path.write_bytes(path.read_bytes() + first + b"\n")
    problems = audit_run(run).problems
    assert any(f"work item {orjson.loads(first)['id']}: ended twice" in p for p in problems)


def test_a_lost_stage_reject_is_named(run):
    path = _stage_reject_files(run)[0]
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join(lines[1:]) + b"\n" if len(lines) > 1 else b"")
    assert audit_run(run).problems == ["the run counted 28 work items, but 27 ended as a generated row or a stage "
                                       "reject"]


def test_a_generated_row_that_is_also_rejected_is_named(run):
    row = pq.read_table(sorted((run / "generated").glob("part-*.parquet"))[0]).to_pylist()[0]
    reject = {"step": "retrieval/query", "reason": "bad_json", "source_id": row["source_id"], "id": row["id"],
              "variant": 0}
    with (run / "rejects" / "retrieval-query.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(reject) + b"\n")
    assert any(p.startswith(f"work item {row['id']}: ended twice (generated, then retrieval/query/bad_json)")
               for p in audit_run(run).problems)


def test_a_generated_row_neither_kept_nor_gated_is_named(run):
    data = sorted((run / "data").glob("*.parquet"))[0]
    table = pq.read_table(data)
    write_parquet(data, table.slice(1))
    missing = table.column("id")[0].as_py()
    assert audit_run(run).problems == [f"generated row {missing}: neither in data/ nor rejected by a gate"]


def test_an_unfinished_run_is_audited_against_its_committed_counters(tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(die_at_call=6), HashEmbedder(), show_progress=False).run()
    ledger = audit_run(out)
    assert ledger.ok, ledger.problems
    assert 0 < len(ledger.work_items) < 28 and not ledger.final
