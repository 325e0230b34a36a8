"""Cross-row collisions: a mined negative that copies any row's positive is flagged with
that positive's group (or dropped), and rows whose positives are duplicates share a group."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, write_corpus

from synthgen.corpus.near_dup import NearDupConfig
from synthgen.corpus.text import normalize_text
from synthgen.mining.collisions import CollisionIndex
from synthgen.run.ledger import audit_run
from synthgen.run.pipeline import Pipeline

CAT = "The cat sleeps on the warm sofa all afternoon while the rain falls outside the window."


def test_groups_cover_exact_and_near_duplicates():
    positives = [CAT, CAT.upper(), CAT.replace("afternoon", "afternoons"), "Dogs bark at the postman every day."]
    documents = ["A recipe for bread with flour, water, salt and yeast, baked for forty minutes.",
                 CAT.replace("sofa", "sofas"), *positives]
    index = CollisionIndex(positives, documents, NearDupConfig(threshold=0.8))
    groups = [index.group(p) for p in positives]
    assert groups[0] == groups[1] == groups[2] != groups[3]
    assert index.groups == 2
    assert index.colliding_group(documents[1]) == groups[0]  # a near copy of a positive
    assert index.colliding_group(documents[0]) is None  # nobody's positive
    assert index.colliding_group("  dogs BARK at the postman every day ") == groups[3]
    assert CollisionIndex(list(reversed(positives)), documents, NearDupConfig()).group(CAT) == groups[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("collisions") / "corpus.jsonl")


def _rows(out):
    return pq.read_table(out / "data").to_pylist()


def test_flagged_negatives_name_the_group_of_the_positive_they_copy(corpus, tmp_path):
    manifest = Pipeline(recipe(corpus), tmp_path / "flag", SeededEngine(), HashEmbedder(), show_progress=False).run()
    rows = _rows(tmp_path / "flag")
    group_of = {normalize_text(r["positive"]): r["group"] for r in rows}
    assert all(r["group"] for r in rows)
    flagged = 0
    for row in rows:
        if row["task"] != "retrieval":
            continue
        assert len(row["negative_groups"]) == len(row["negatives"])
        for negative, group in zip(row["negatives"], row["negative_groups"]):
            if normalize_text(negative) in group_of:  # the positive of a kept row: always flagged
                assert group == group_of[normalize_text(negative)]
            flagged += group is not None
    assert flagged > 0
    counts = manifest["collisions"]
    assert counts["action"] == "flag" and counts["negatives_colliding"] == flagged
    assert counts["negatives_dropped"] == 0 and counts["groups"] == len({r["group"] for r in rows})


def test_drop_removes_colliding_negatives_and_accounts_for_them(corpus, tmp_path):
    out = tmp_path / "drop"
    manifest = Pipeline(recipe(corpus, collisions={"action": "drop"}), out, SeededEngine(), HashEmbedder(),
                        show_progress=False).run()
    rows = _rows(out)
    positives = {normalize_text(r["positive"]) for r in rows}
    for row in rows:
        if row["task"] == "retrieval":
            assert not positives & {normalize_text(n) for n in row["negatives"]}
            assert row["negative_groups"] == [None] * len(row["negatives"])
            assert len(row["negative_scores"]) == len(row["negatives"])
    dropped = [orjson.loads(x) for x in (out / "rejects" / "mining-collisions.jsonl").read_bytes().splitlines()]
    assert dropped and all(d["reason"] == "collides_with_positive" and d["group"] for d in dropped)
    assert manifest["collisions"]["negatives_dropped"] == len(dropped) == manifest["collisions"]["negatives_colliding"]
    assert audit_run(out).ok  # negative-level records do not count as row outcomes


def test_generated_parts_of_an_older_synthgen_without_group_columns_still_finalize(corpus, tmp_path):
    out = tmp_path / "old"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    for part in sorted((out / "generated").glob("part-*.parquet")):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns(["group", "negative_groups"]), part)
    from synthgen.run.finalize import Finalizer
    from synthgen.run.output import RunFolder

    report = Finalizer(RunFolder(out), recipe(corpus), HashEmbedder()).run()
    rows = _rows(out)
    assert report.rows_out == len(rows) > 0 and all(r["group"] for r in rows)
