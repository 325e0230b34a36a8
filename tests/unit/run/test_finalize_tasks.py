"""Finalize over a mixed run: each task gets its own gates, generated positives and
negatives are scored, and mining searches code units for code rows and text for text rows.

The embedder is a lookup table of hand-set unit vectors, so every cosine is known.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.corpus.readers import Document
from synthgen.shards.export import export_run
from synthgen.run.finalize import Finalizer, task_gates
from synthgen.run.output import RunFolder, documents_table, write_parquet
from synthgen.config.loader import build_recipe
from synthgen.generation.rows import rows_to_table
from synthgen.tasks import build_tasks

DOCS = [
    Document("d1", "The ls command lists directory contents and sorts them by name.", "en"),
    Document("d2", "The tar command stores many files in one archive.", "en"),
    Document("c1", "def add(a, b):\n    return a + b\n", "python"),
    Document("c2", "def sub(a, b):\n    return a - b\n", "python"),
]
# Axis per meaning: 0 listing, 1 archives, 2 adding, 3 subtracting, 4 weather, 5 sport.
VECTORS = {
    "d1": [1, 0.1, 0, 0, 0, 0], "d2": [0.5, 1, 0, 0, 0, 0], "c1": [0, 0, 1, 0.1, 0, 0], "c2": [0.3, 0, 0.5, 1, 0, 0],
    "how do I see what files a folder holds": [1, 0, 0, 0, 0, 0],
    "function that sums two numbers": [0, 0, 1, 0, 0, 0],
    "It rains today.": [0, 0, 0, 0, 1, 0], "Today it is raining.": [0, 0, 0, 0, 1, 0.2],
    "The match ended two to one.": [0, 0, 0, 0, 0, 1],
    "Rain is expected this afternoon.": [0, 0, 0, 0, 1, 0], "It will be sunny.": [0, 0, 0, 0, 0.2, 1],
    "Sunny days are warm.": [0, 0, 0, 0, 1, 0.1], "Rainy days are wet.": [0, 0, 0, 0, 1, 0],  # negative above
    "The cat sleeps on the sofa all afternoon.": [0, 1, 0, 0, 0, 0],
    "The cat sleeps on the sofa all afternoon long.": [0, 1, 0, 0, 0, 0],
    "Die Katze schläft den ganzen Nachmittag auf dem Sofa.": [0, 1, 0, 0, 0, 0],
    "Der Hund schläft den ganzen Nachmittag auf dem Sofa.": [0, 0.9, 0, 0, 0, 0],
}


class TableEmbedder:
    model_id = "table"

    def embed(self, texts, kind):
        by_text = {d.text: VECTORS[d.id] for d in DOCS}
        rows = [by_text.get(t, VECTORS.get(t, [0.01, 0.01, 0.01, 0.01, 0.01, 0.01])) for t in texts]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), 6)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


RECIPE = {
    "name": "t", "corpus": [{"path": "x"}],
    "tasks": {"retrieval": {}, "code_retrieval": {}, "sts": {}, "bitext": {"pairs": {"en-de": 1.0}}},
    "gates": {"near_dup": {"enabled": False}, "cosine": {"min_score": 0.5}},
    "mining": {"num_negatives": 1, "range_max": 4, "min_negatives": 0},
}


def row(task, source, query, positive=None, negatives=(), languages=("en", "en"), n=0):
    tasks = build_tasks(build_recipe(RECIPE))
    doc = next((d for d in DOCS if d.id == source), DOCS[0])
    return tasks[task].row(_Item(doc, n), query=query, positive=positive if positive is not None else doc.text,
                           negatives=list(negatives), query_language=languages[0], document_language=languages[1])


class _Item:
    def __init__(self, document, variant):
        self.document, self.variant = document, variant


@pytest.fixture()
def finalized(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.generated.mkdir(parents=True)
    folder.rejects.mkdir()
    rows = [
        row("retrieval", "d1", "how do I see what files a folder holds"),
        row("code_retrieval", "c1", "function that sums two numbers", languages=("en", "python")),
        row("sts", "d1", "It rains today.", "Today it is raining.", ["The match ended two to one."], n=1),
        row("sts", "d2", "Rain is expected this afternoon.", "Sunny days are warm.", ["Rainy days are wet."], n=2),
        row("bitext", "d2", "The cat sleeps on the sofa all afternoon.",
            "Die Katze schläft den ganzen Nachmittag auf dem Sofa.",
            ["Der Hund schläft den ganzen Nachmittag auf dem Sofa."], languages=("en", "de"), n=3),
        row("bitext", "d1", "A cat sleeps on the sofa.", "The cat sleeps on the sofa all afternoon long.",
            ["Der Hund schläft den ganzen Nachmittag auf dem Sofa."], languages=("en", "de"), n=4),
    ]
    write_parquet(folder.document_part_path(0), documents_table(DOCS))
    write_parquet(folder.part_path(0), rows_to_table(rows))
    report = Finalizer(folder, build_recipe(RECIPE), TableEmbedder()).run()
    kept = {(r["task"], r["query"]): r for r in pq.read_table(folder.data).to_pylist()}
    rejects = [orjson.loads(line) for path in folder.rejects.glob("*.jsonl") for line in path.read_bytes().splitlines()]
    return report, kept, rejects


def test_mining_searches_code_for_code_rows_and_text_for_text_rows(finalized):
    _, kept, _ = finalized
    assert kept[("retrieval", "how do I see what files a folder holds")]["negatives"] == [DOCS[1].text]
    assert kept[("code_retrieval", "function that sums two numbers")]["negatives"] == [DOCS[3].text]


def test_generated_negatives_are_kept_and_scored(finalized):
    _, kept, _ = finalized
    sts = kept[("sts", "It rains today.")]
    assert sts["negatives"] == ["The match ended two to one."]
    assert sts["positive_score"] == pytest.approx(1 / np.sqrt(1.04), abs=1e-6)
    assert sts["negative_scores"] == [pytest.approx(0.0, abs=1e-6)]


def test_margin_and_positive_language_gates_apply_to_their_tasks(finalized):
    report, kept, rejects = finalized
    reasons = {(r["query"], r["reason"]) for r in rejects}
    assert ("Rain is expected this afternoon.", "negative_above_positive") in reasons
    assert ("A cat sleeps on the sofa.", "wrong_positive_language") in reasons  # left in English
    assert ("bitext", "The cat sleeps on the sofa all afternoon.") in kept  # the German translation
    assert kept[("bitext", "The cat sleeps on the sofa all afternoon.")]["positive"].startswith("Die Katze")
    assert report.rows_out == 4 and report.removals == {"gates/language/wrong_positive_language": 1,
                                                         "gates/margin/negative_above_positive": 1}


def test_task_gate_lists_follow_defaults_overrides_and_the_gates_table():
    recipe = build_recipe({**RECIPE, "tasks": {"retrieval": {}, "bitext": {"gates": ["language"]},
                                               "classification": {}, "code_retrieval": {"min_cosine": 0.4}},
                           "gates": {"consistency": {"enabled": True}}})
    tasks = build_tasks(recipe)
    names = {name: [g.name for g in task_gates(recipe, task)] for name, task in tasks.items()}
    assert names == {"retrieval": ["leakage", "generic", "language", "cosine", "consistency"], "bitext": ["language"],
                     "classification": ["generic", "instruction", "language", "margin", "topic"],
                     "code_retrieval": ["leakage", "generic", "language", "cosine", "consistency"]}
    cosine = next(g for g in task_gates(recipe, tasks["code_retrieval"]) if g.name == "cosine")
    assert cosine.fixed == 0.4


def test_export_keeps_chosen_tasks_and_writes_qwen3_instructions(finalized, tmp_path):
    run = tmp_path / "run"
    report = export_run(run, tmp_path / "st", "sentence-transformers", tasks=["sts"], instruction_format="qwen3")
    table = pq.read_table(report.path).to_pylist()
    assert report.rows == 1 and report.num_negatives == 1
    assert table[0]["anchor"] == "Instruct: Retrieve semantically similar text\nQuery: It rains today."
    bare = export_run(run, tmp_path / "flag", "flagembedding", num_negatives=0)
    lines = [orjson.loads(x) for x in bare.path.read_bytes().splitlines()]
    assert {x["query"] for x in lines} >= {"It rains today.", "how do I see what files a folder holds"}
