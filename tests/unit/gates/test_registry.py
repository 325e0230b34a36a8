"""synthgen.gates.registry: every gate of the recipe has the code that runs it, and a task
gets its gates in the order they apply."""

from __future__ import annotations

from synthgen.config.loader import build_recipe
from synthgen.config.quality import GATES
from synthgen.gates.registry import ALL_ROW_GATES, PER_ROW_GATES, all_row_drops, task_gates
from synthgen.tasks import build_tasks

RECIPE = {"name": "t", "corpus": {"path": "c.jsonl"}, "tasks": {"retrieval": {}, "corpus_free": {}}}


def test_every_gate_of_the_recipe_runs_and_nothing_else():
    assert set(ALL_ROW_GATES) == {gate.name for gate in GATES if not gate.per_row}
    assert set(PER_ROW_GATES) == {gate.name for gate in GATES if gate.per_row}


def test_a_task_gets_the_gates_it_lists_in_the_order_they_apply():
    recipe = build_recipe({**RECIPE, "gates": {"consistency": {"enabled": True}},
                           "tasks": {"retrieval": {"gates": ["consistency", "cosine", "topic", "leakage"],
                                                   "min_cosine": 0.4},
                                     "corpus_free": {"gates": ["consistency", "topic", "margin", "generic"]}}})
    tasks = build_tasks(recipe)
    retrieval = task_gates(recipe.gates, tasks["retrieval"])
    assert [gate.name for gate in retrieval] == ["leakage", "cosine", "consistency", "topic"]
    assert retrieval[1].fixed == 0.4  # the task's min_cosine
    # corpus_free: its positive is generated and its source is no corpus document
    assert [gate.name for gate in task_gates(recipe.gates, tasks["corpus_free"])] == ["generic", "margin"]


def test_the_gates_over_all_rows_drop_exact_then_near_duplicates():
    ids = ["a", "b", "c", "d"]
    queries = ["how do I reset a password", "How do I reset a password?", "how do i reset the password",
               "what is the capital of France"]
    positives = ["p1", "p1", "p2", "p3"]
    recipe = build_recipe({**RECIPE, "gates": {"near_dup": {"threshold": 0.5}}})
    dropped = all_row_drops(recipe.gates, ids, queries, positives)
    assert dropped[1] == ("exact_dedup/duplicate_pair", {"duplicate_of": "a"})
    assert dropped[2][0] == "near_dup/near_duplicate_query" and dropped[2][1]["duplicate_of"] == "a"
    assert 0 not in dropped and 3 not in dropped
    off = build_recipe({**RECIPE, "gates": {"exact_dedup": False, "near_dup": {"enabled": False}}})
    assert all_row_drops(off.gates, ids, queries, positives) == {}
