"""Every task type on the real engine: one `synthgen run` of all seven tasks over real text.

Documents: the man-page corpus (English, German, French, Spanish, Portuguese pages) and
code units of this Python's `json` package (`builtin:python-stdlib/json`). The built-in
SmolLM2-135M writes every row. This run checks generation and the row each task makes;
the gates have their own tests, so the gates that would drop most of the 135M model's
rows (cosine, language, margin, and the meaning gates: generic, translation, topic,
positive_length) are relaxed here, while leakage, exact and near dedup and the
instruction gate (the label set below is a sentence) stay on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from synthgen.tasks.retrieval import QUESTION_TYPES
from synthgen.tasks import TASK_TYPES
from tests.e2e.conftest import synthgen_cli


pytestmark = pytest.mark.engine

LABELS = ["bug report", "feature request", "question"]
INSTRUCTION = "Classify a message sent to a software project's issue tracker"


@pytest.fixture(scope="session")
def tasks_run(tmp_path_factory, man_corpus) -> tuple[Path, dict]:
    recipe = tmp_path_factory.mktemp("recipe") / "tasks.toml"
    recipe.write_text(f"""
name = "e2e-tasks"
seed = 11
queries_per_document = 5

[[corpus]]
path = "{man_corpus}"
language_column = ""

[[corpus]]
path = "builtin:python-stdlib/json"
format = "code"
max_chars = 1500

[generator]
max_tokens = 160
engine_kwargs = {{ max_model_len = 4096 }}

[tasks.retrieval]
type_and_difficulty = "sample"
query_length = [4, 12]
[tasks.bitext]
pairs = {{ en-de = 1.0, de-en = 1.0, fr-en = 1.0 }}
[tasks.sts]
[tasks.classification]
label_sets = [{{ instruction = "{INSTRUCTION}", labels = {json.dumps(LABELS)} }}]
[tasks.matching]
max_tokens = 240
[tasks.code_retrieval]
weight = 1.0
[tasks.corpus_free]
brainstorm = 4
examples_per_task = 2
num_words = [30]
max_tokens = 240

[gates.cosine]
min_score = -1.0
[gates.language]
enabled = false
[gates.margin]
min_margin = -2.0
[gates.generic]
enabled = false
[gates.translation]
enabled = false
[gates.topic]
enabled = false
[gates.positive_length]
enabled = false

[mining]
min_negatives = 0

[run]
shard_size = 16
""", encoding="utf-8")
    out = tmp_path_factory.mktemp("run") / "out"
    result = synthgen_cli("run", str(recipe), "--out", str(out), "--quiet", "--limit-docs", "18")
    assert result.returncode == 0, result.stderr[-3000:]
    return out, json.loads((out / "manifest.json").read_text())


def rows_of(out: Path, task: str) -> list[dict]:
    rows = [r for path in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(path).to_pylist()]
    found = [r for r in rows if r["task"] == task]
    assert found, f"no {task} rows"
    return found


def corpus_texts(out: Path) -> dict[str, dict]:
    docs = {}
    for path in sorted((out / "generated").glob("docs-*.parquet")):
        docs.update({d["id"]: d for d in pq.read_table(path).to_pylist()})
    return docs


def test_manifest_counts_every_task_and_language(tasks_run):
    out, manifest = tasks_run
    assert set(manifest["counts_by"]["task"]) == set(TASK_TYPES)
    assert sum(manifest["counts_by"]["task"].values()) == manifest["counts"]["rows"]
    assert sum(manifest["counts_by"]["query_language"].values()) == manifest["counts"]["rows"]
    assert "python" in manifest["counts_by"]["document_language"]
    per_task = manifest["counts_by"]["task_query_language"]
    assert {t: sum(v.values()) for t, v in per_task.items()} == manifest["counts_by"]["task"]
    for task in TASK_TYPES:
        assert any(stage.startswith(f"{task}/") for stage in manifest["stages"]), task


def test_retrieval_rows(tasks_run):
    out, _ = tasks_run
    docs = corpus_texts(out)
    for row in rows_of(out, "retrieval"):
        assert row["persona"] and row["query_type"] in QUESTION_TYPES
        assert row["positive"] == docs[row["source_id"]]["text"]


def test_bitext_rows_translate_a_span_of_their_document(tasks_run):
    out, _ = tasks_run
    docs = corpus_texts(out)
    pairs = {("en", "de"), ("de", "en"), ("fr", "en")}
    for row in rows_of(out, "bitext"):
        source = docs[row["source_id"]]
        assert row["query"] in " ".join(source["text"].split())
        assert (row["query_language"], row["document_language"]) in pairs
        assert row["query_language"] == source["language"]
        assert len(row["negatives"]) == 1 and row["negatives"][0] != row["positive"] != row["query"]


def test_sts_rows_store_the_sampled_scores(tasks_run):
    out, _ = tasks_run
    for row in rows_of(out, "sts"):
        assert row["similarity_positive"] in (4.0, 4.5, 5.0) and row["similarity_negative"] in (2.5, 3.0, 3.5)
        assert len({row["query"], row["positive"], row["negatives"][0]}) == 3


def test_classification_rows_use_the_label_set(tasks_run):
    out, _ = tasks_run
    for row in rows_of(out, "classification"):
        assert row["instruction"] == INSTRUCTION
        assert row["label"] == row["positive"] and row["label"] in LABELS
        assert row["negatives"] == [row["misleading_label"]] and row["misleading_label"] in LABELS
        assert row["misleading_label"] != row["label"]


def test_matching_rows(tasks_run):
    out, _ = tasks_run
    for row in rows_of(out, "matching"):
        assert row["query_type"] in ("short_short", "long_long") and row["negatives"] == []
        assert row["query"] != row["positive"]


def test_code_retrieval_rows_pair_intents_with_code_units_and_mine_code(tasks_run):
    out, _ = tasks_run
    docs = corpus_texts(out)
    code = {d["text"] for d in docs.values() if d["language"] == "python"}
    for row in rows_of(out, "code_retrieval"):
        assert "::" in row["source_id"] and row["document_language"] == "python"
        assert row["positive"] == docs[row["source_id"]]["text"]
        assert row["query_type"] in ("what_it_does", "how_to", "error_to_fix", "api_usage", "code_to_code")
        assert all(n in code for n in row["negatives"])  # negatives mined among code units only


def test_corpus_free_rows_come_from_brainstormed_tasks(tasks_run):
    out, manifest = tasks_run
    ideas = manifest["brainstorm"]["corpus_free"]["ideas"]
    assert ideas and len(set(ideas)) == len(ideas)
    for row in rows_of(out, "corpus_free"):
        assert row["instruction"] in ideas and row["source_id"].startswith("task-")
        assert len(row["negatives"]) == 1 and row["negative_scores"]
