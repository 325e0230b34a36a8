"""The CLI as a user meets it: errors, prompt preview, persona search, the output folder."""

from __future__ import annotations

import orjson
import pytest

from tests.e2e.conftest import synthgen_cli


def test_invalid_recipe_is_one_line_and_exit_2(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text('name = "x"\n[corpus]\npath = "c.jsonl"\n[generator]\ntop_p = 1.5\n')
    result = synthgen_cli("run", str(recipe))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: recipe: generator.top_p: must be in (0, 1], got 1.5"]
    assert "Traceback" not in result.stderr


def test_set_override_error_names_the_key(tmp_path):
    result = synthgen_cli("run", "recipes/demo.toml", "--set", "generator.temprature=0.5", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "generator.temprature: unknown key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_corpus_is_one_line(tmp_path):
    result = synthgen_cli("run", "recipes/demo.toml", "--set", f"corpus.path={tmp_path}/none.jsonl",
                          "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_a_finished_run_is_not_run_again_and_a_changed_one_is_refused(man_run, man_recipe):
    out, _ = man_run
    before = {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    manifest = (out / "manifest.json").read_bytes()
    result = synthgen_cli("run", str(man_recipe), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert {p.name: p.read_bytes() for p in (out / "data").iterdir()} == before
    assert (out / "manifest.json").read_bytes() == manifest
    changed = synthgen_cli("run", str(man_recipe), "--out", str(out), "--set", "generator.temperature=0.3")
    assert changed.returncode == 2 and "generator.temperature (0.7 -> 0.3)" in changed.stderr
    assert "--overwrite" in changed.stderr and len(changed.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in (out / "data").iterdir()} == before


def test_render_keeps_document_text_literal(tmp_path):
    corpus = tmp_path / "c.jsonl"
    text = "Jinja expressions like {{ 7*7 }} and {% for x in y %} must stay literal in prompts."
    corpus.write_bytes(orjson.dumps({"id": "d1", "text": text, "language": "en"}) + b"\n")
    result = synthgen_cli("render", "recipes/demo.toml", "--doc", "0", "--json",
                          "--set", f"corpus.path={corpus}", "--set", "queries_per_document=1")
    assert result.returncode == 0, result.stderr[-2000:]
    rendered = orjson.loads(result.stdout)
    assert [r["stage"] for r in rendered] == ["configure", "query"]
    for entry in rendered:
        assert text in entry["messages"][1]["content"]
        assert "49" not in entry["messages"][1]["content"]
    candidates = rendered[0]["schema"]["properties"]["Character"]["enum"]
    assert len(candidates) == 5
    assert rendered[1]["messages"][1]["content"].count(candidates[0]) == 1


def test_render_text_shows_system_user_and_schema():
    result = synthgen_cli("render", "recipes/demo.toml", "--doc", "2", "--set", "queries_per_document=2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--- system" in result.stdout and "--- user" in result.stdout
    assert '"Question_Type"' in result.stdout


def test_personas_search_finds_relevant_personas():
    result = synthgen_cli("personas", "search", "How do I set file permissions with chmod on Linux?", "--k", "5")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    assert any(word in result.stdout.lower() for word in ("linux", "sysadmin", "administrator", "shell"))
    scores = [float(line.split()[1]) for line in lines]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["render", "--help"]])
def test_help_shows_an_example(args):
    result = synthgen_cli(*args)
    assert result.returncode == 0
    assert "Example" in result.stdout
