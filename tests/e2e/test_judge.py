"""`synthgen judge` on a finished run with the real built-in generator (SmolLM2-135M on
vLLM) as the judge: every positive and mined negative gets p("yes"), the drop and relabel
rules hold on the output, the manifest and report show the agreement with the margin rule,
and a rerun reads every score from the cache (no engine requests). Rows are standard-library
docstring pairs (tests/e2e/runs.py), mined by `synthgen mine` with the real embedder."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.run.ledger import audit_run
from tests.e2e.conftest import synthgen_cli
from tests.e2e.runs import make_run_folder

ROWS = 12
ENGINE = "judge.engine_kwargs={ max_model_len = 2048 }"


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    folder = make_run_folder(tmp_path_factory.mktemp("run") / "stdlib", limit=ROWS,
                             gates={"cosine": {"min_score": 0.2}, "language": {"enabled": False}},
                             mining={"min_negatives": 0})
    mined = synthgen_cli("mine", str(folder.root))
    assert mined.returncode == 0, mined.stderr[-2000:]
    before = pq.read_table(folder.data).to_pylist()
    first = synthgen_cli("judge", str(folder.root), "--set", ENGINE)
    assert first.returncode == 0, first.stderr[-3000:]
    manifest = orjson.loads(folder.manifest.read_bytes())
    return folder, before, first, manifest


def _notes(folder, name):
    path = folder.rejects / name
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.is_file() else []


def test_every_positive_and_negative_gets_a_judge_score(judged):
    folder, before, _, manifest = judged
    judge = manifest["judge"]
    pairs = sum(1 + len(r["negatives"]) for r in before)
    assert before and pairs > len(before)
    assert judge["pairs"] == pairs and judge["negatives"] == pairs - len(before) and judge["rows"] == len(before)
    assert judge["engine_requests"] + judge["cache_hits"] == pairs and judge["engine_requests"] > 0
    assert judge["undecided"] == 0  # "yes" or "no" was among the top 20 tokens every time
    rows = pq.read_table(folder.data).to_pylist()
    assert rows
    for row in rows:
        assert 0.0 <= row["judge_positive_score"] <= 1.0
        assert len(row["judge_negative_scores"]) == len(row["negatives"]) == len(row["negative_scores"])
        assert all(0.0 <= p <= 1.0 for p in row["judge_negative_scores"])
    print(f"\njudge on {pairs} pairs: engine start {judge['load_seconds']:.1f} s, scoring {judge['engine_seconds']:.1f} s, "
          f"{judge['engine_seconds'] / judge['engine_requests'] * 1000:.0f} ms per pair; "
          f"agreement with the margin rule {judge['agreement_with_margin_rule']}, order agreement "
          f"{judge['order_agreement']}, mean p(yes) positives {judge['mean_positive_score']}, negatives "
          f"{judge['mean_negative_score']}; dropped negatives {judge['negatives_dropped']}, relabeled "
          f"{judge['relabeled']}")


def test_the_rules_hold_on_the_output(judged):
    folder, before, _, manifest = judged
    judge, settings = manifest["judge"], manifest["judge"]["settings"]
    threshold, margin = settings["relevant_threshold"], settings["better_margin"]
    rows = pq.read_table(folder.data).to_pylist()
    for row in rows:
        assert all(p < threshold for p in row["judge_negative_scores"])
        assert all(p - row["judge_positive_score"] < margin + 1e-6 or p <= row["judge_positive_score"]
                   for p in row["judge_negative_scores"])
    dropped, relabeled = _notes(folder, "judge-negatives.jsonl"), _notes(folder, "judge-relabeled.jsonl")
    assert len(dropped) == judge["negatives_dropped"] and all(n["judge_score"] >= threshold for n in dropped)
    assert len(relabeled) == judge["relabeled"]
    assert all(n["negative_judge_score"] - n["positive_judge_score"] >= margin - 1e-4 for n in relabeled)
    negatives_before = sum(len(r["negatives"]) for r in before)
    assert sum(len(r["negatives"]) for r in rows) == negatives_before - len(dropped) - len(relabeled)
    assert judge["disagreements"] == judge["negatives"] - round(judge["agreement_with_margin_rule"] * judge["negatives"])
    assert manifest["counts"]["rows"] + sum(manifest["gate_removals"].values()) == ROWS
    assert audit_run(folder.root).ok, audit_run(folder.root).problems


def test_report_shows_the_agreement(judged):
    folder = judged[0]
    result = synthgen_cli("report", str(folder.root))
    assert result.returncode == 0, result.stderr[-2000:]
    html = (folder.root / "report" / "index.html").read_text(encoding="utf-8")
    assert "<h2>Judge</h2>" in html and "agreement with the margin rule" in html


def test_a_rerun_makes_no_engine_requests(judged):
    folder, _, first, manifest = judged
    again = synthgen_cli("judge", str(folder.root), "--set", ENGINE)
    assert again.returncode == 0, again.stderr[-3000:]
    second = orjson.loads(folder.manifest.read_bytes())
    assert second["judge"]["engine_requests"] == 0
    assert second["judge"]["cache_hits"] == second["judge"]["pairs"] == manifest["judge"]["pairs"]
    assert ", 0 engine requests" in again.stdout
    assert [s["sha256"] for s in second["shards"]] == [s["sha256"] for s in manifest["shards"]]
