"""Resumable runs: a run that dies at any engine call and is run again ends with exactly
the rows, rejects and counts of a run that never died; changed recipes are refused.

The engine here is a deterministic stand-in that answers every request from its seed and
schema (the real engine is killed with SIGKILL in tests/e2e/test_resume_kill.py).
"""

from __future__ import annotations

import orjson
import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, snapshot, write_corpus

from synthgen.errors import UserError
from synthgen.run.pipeline import Pipeline


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    corpus = write_corpus(root / "corpus.jsonl")
    engine = SeededEngine()
    Pipeline(recipe(corpus), root / "out", engine, HashEmbedder(), show_progress=False).run()
    return corpus, snapshot(root / "out"), engine.calls


def test_clean_run_has_rows_rejects_and_a_brainstorm(clean):
    _, snap, calls = clean
    assert snap["rows"] and {r["task"] for r in snap["rows"]} == {"retrieval", "classification"}
    assert "corpus.jsonl" in snap["rejects"] and snap["brainstorm"]["classification"]["ideas"]
    assert calls == 1 + 4 * 3  # brainstorm + 4 shards x (retrieval configure, query; classification)


@pytest.mark.parametrize("die_at", [1, 2, 3, 5, 8, 12, 13])
def test_a_run_that_dies_at_any_call_resumes_to_the_clean_result(clean, tmp_path, die_at):
    corpus, expected, _ = clean
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="engine died"):
        Pipeline(recipe(corpus), out, SeededEngine(die_at), HashEmbedder(), show_progress=False).run()
    assert not (out / "manifest.json").exists()
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    assert snapshot(out) == expected
    assert orjson.loads((out / "manifest.json").read_bytes())["resumed"] == 1


def test_a_resume_skips_committed_work(clean, tmp_path):
    corpus, _, calls = clean
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(8), HashEmbedder(), show_progress=False).run()
    second = SeededEngine()
    Pipeline(recipe(corpus), out, second, HashEmbedder(), show_progress=False).run()
    assert second.calls == calls - 7  # the brainstorm and two whole shards were committed


def test_a_finished_run_is_not_run_again(clean, tmp_path):
    corpus, expected, _ = clean
    out = tmp_path / "out"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    again = SeededEngine()
    Pipeline(recipe(corpus), out, again, HashEmbedder(), show_progress=False).run()
    assert again.calls == 0 and snapshot(out) == expected


def test_a_changed_recipe_is_refused_by_name_unless_forced(clean, tmp_path):
    corpus, _, _ = clean
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(4), HashEmbedder(), show_progress=False).run()
    changed = recipe(corpus, seed=4)
    with pytest.raises(UserError) as info:
        Pipeline(changed, out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    message = str(info.value)
    assert "recipe.seed (3 -> 4)" in message and "--force" in message and "\n" not in message
    Pipeline(changed, out, SeededEngine(), HashEmbedder(), show_progress=False).run(force=True)
    assert (out / "manifest.json").exists()


def test_a_run_started_before_a_recipe_key_was_added_resumes(clean, tmp_path):
    """state.json of an older synthgen lacks the keys added since: they take their defaults."""
    corpus, expected, _ = clean
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(4), HashEmbedder(), show_progress=False).run()
    state = orjson.loads((out / "state.json").read_bytes())
    del state["fingerprint"]["recipe"]["run"]["deterministic"]
    (out / "state.json").write_bytes(orjson.dumps(state))
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    assert snapshot(out) == expected


def test_a_changed_template_is_refused(clean, tmp_path):
    import shutil

    from synthgen.generation.prompts import DEFAULT_PROMPTS_DIR, PromptLibrary

    corpus, _, _ = clean
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, prompts)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(4), HashEmbedder(), PromptLibrary(prompts),
                 show_progress=False).run()
    query = prompts / "retrieval" / "query.j2"
    query.write_text(query.read_text().replace("Do not copy", "Never copy"))
    with pytest.raises(UserError, match=r"templates\.retrieval/query"):
        Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), PromptLibrary(prompts),
                 show_progress=False).run()


def test_overwrite_starts_over(clean, tmp_path):
    corpus, expected, calls = clean
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        Pipeline(recipe(corpus), out, SeededEngine(6), HashEmbedder(), show_progress=False).run()
    engine = SeededEngine()
    Pipeline(recipe(corpus), out, engine, HashEmbedder(), show_progress=False).run(overwrite=True)
    assert engine.calls == calls and snapshot(out) == expected
