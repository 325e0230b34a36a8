"""synthgen.config.loader and synthgen.config.recipe: loading, `--set` overrides and one-line validation errors."""

from __future__ import annotations

from pathlib import Path

import tomllib

import pytest

from synthgen.errors import RecipeError, UserError
from synthgen.config.languages import SAME_LANGUAGE
from synthgen.config.loader import apply_override, build_recipe, load_recipe
from synthgen.config.recipe import Recipe
from synthgen.config.run import BUILTIN_EMBEDDER, BUILTIN_GENERATOR

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "recipes" / "demo.toml"

MINIMAL = 'name = "mini"\n[corpus]\npath = "corpus.jsonl"\n'


def _error(overrides: list[str], path: Path = DEMO) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, overrides)
    return info.value


def _assert_one_line(error: Exception, *parts: str) -> str:
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith("recipe: "), message
    for part in parts:
        assert part in message, (part, message)
    return message


# Loading ---------------------------------------------------------------------------------

def test_demo_recipe_loads_with_its_values():
    recipe = load_recipe(DEMO)
    assert isinstance(recipe, Recipe)
    assert recipe.name == "demo"
    assert recipe.seed == 20250605
    assert recipe.corpus[0].path == "corpora/sample-multilingual.jsonl"
    assert recipe.corpus[0].text_column == "text"
    assert recipe.generator.model == BUILTIN_GENERATOR
    assert recipe.generator.max_tokens == tomllib.loads(DEMO.read_text())["generator"]["max_tokens"]
    assert recipe.generator.engine_kwargs == {"max_model_len": 4096}
    assert recipe.embedder.model == BUILTIN_EMBEDDER
    assert recipe.personas.candidates == 5
    assert recipe.tasks.retrieval is not None
    assert recipe.tasks.retrieval.query_length == [4, 16]
    assert recipe.languages.query == {SAME_LANGUAGE: 1.0}
    assert recipe.run.shard_size == 48


def test_minimal_recipe_gets_defaults(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL)
    recipe = load_recipe(path)
    assert recipe.corpus[0].format == "auto"
    assert recipe.generator.temperature == 0.7
    assert recipe.generator.structured_outputs is True
    assert recipe.languages.query == {SAME_LANGUAGE: 1.0}
    assert list(recipe.tasks.enabled()) == ["retrieval"]
    assert recipe.to_dict()["corpus"][0]["path"] == "corpus.jsonl"


def test_recipe_is_frozen():
    recipe = load_recipe(DEMO)
    with pytest.raises(Exception):
        recipe.generator.temperature = 1.5  # type: ignore[misc]


def test_recipe_error_is_a_user_error():
    assert issubclass(RecipeError, UserError)
    assert RecipeError.exit_code == 2


# Overrides -------------------------------------------------------------------------------

def test_override_float_and_int_to_float():
    recipe = load_recipe(DEMO, ["generator.temperature=0.25", "generator.top_p=1"])
    assert recipe.generator.temperature == 0.25
    assert recipe.generator.top_p == 1.0
    assert isinstance(recipe.generator.top_p, float)


def test_override_bool():
    recipe = load_recipe(DEMO, ["generator.structured_outputs=false"])
    assert recipe.generator.structured_outputs is False


def test_override_int():
    recipe = load_recipe(DEMO, ["generator.max_tokens=64", "run.shard_size=3"])
    assert recipe.generator.max_tokens == 64
    assert recipe.run.shard_size == 3


def test_override_inline_table_replaces_the_table():
    recipe = load_recipe(DEMO, ["languages.query={en=1.0}"])
    assert recipe.languages.query == {"en": 1.0}


def test_override_dotted_key_inside_a_table_merges():
    recipe = load_recipe(DEMO, ["languages.query.de=0.25"])
    assert recipe.languages.query == {SAME_LANGUAGE: 1.0, "de": 0.25}


def test_override_plain_strings_need_no_quotes():
    recipe = load_recipe(DEMO, ["generator.model=Qwen/Qwen3-32B", "output=outputs/my run",
                                'name="quoted name"'])
    assert recipe.generator.model == "Qwen/Qwen3-32B"
    assert recipe.output == "outputs/my run"
    assert recipe.name == "quoted name"


def test_override_list():
    recipe = load_recipe(DEMO, ["tasks.retrieval.query_length=[2, 3]"])
    assert recipe.tasks.retrieval.query_length == [2, 3]


def test_later_override_wins():
    recipe = load_recipe(DEMO, ["generator.temperature=0.1", "generator.temperature=0.9"])
    assert recipe.generator.temperature == 0.9


def test_apply_override_creates_nested_tables():
    data: dict = {}
    apply_override(data, "a.b.c=1")
    apply_override(data, " x=hello world")
    apply_override(data, "y = 0.5")
    assert data == {"a": {"b": {"c": 1}}, "x": "hello world", "y": 0.5}
    apply_override(data, "v=a=b")
    assert data["v"] == "a=b"


def test_apply_override_without_equals_is_an_error():
    with pytest.raises(RecipeError) as info:
        apply_override({}, "generator.temperature")
    _assert_one_line(info.value, "--set", "key.path=value", "generator.temperature")


def test_apply_override_inside_a_scalar_is_an_error():
    data = {"generator": {"model": "m"}}
    with pytest.raises(RecipeError) as info:
        apply_override(data, "generator.model.x=1")
    _assert_one_line(info.value, "generator.model.x", "non-table")


# Invalid values: one line with key, rule and value ---------------------------------------

def test_unknown_top_level_key():
    message = _assert_one_line(_error(["colour=1"]), "colour", "unknown key")
    assert "corpus" in message  # lists the known keys


def test_unknown_nested_key():
    _assert_one_line(_error(["generator.temprature=0.5"]), "generator.temprature", "unknown key", "temperature")


def test_unknown_key_in_the_toml_file(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(MINIMAL + "[embedder]\nbatchsize = 3\n")
    _assert_one_line(_error([], path), "embedder.batchsize", "unknown key")


def test_wrong_type_string_for_int():
    _assert_one_line(_error(['generator.max_tokens="a"']), "generator.max_tokens", "must be int", "'a'")


def test_wrong_type_bool_for_int():
    _assert_one_line(_error(["generator.max_tokens=true"]), "generator.max_tokens", "must be int", "True")


def test_wrong_type_bool_for_float():
    _assert_one_line(_error(["generator.temperature=true"]), "generator.temperature", "must be float", "True")


def test_wrong_type_int_for_bool():
    _assert_one_line(_error(["generator.structured_outputs=1"]), "generator.structured_outputs",
                     "must be bool", "1")


def test_wrong_type_in_a_list_names_the_index():
    _assert_one_line(_error(["tasks.retrieval.query_length=[1.5, 2]"]),
                     "tasks.retrieval.query_length[0]", "must be int", "1.5")


def test_out_of_range_top_p():
    message = _assert_one_line(_error(["generator.top_p=1.5"]), "generator.top_p", "(0, 1]", "1.5")
    assert message == "recipe: generator.top_p: must be in (0, 1], got 1.5"


@pytest.mark.parametrize("item, key, rule, value", [
    ("generator.top_p=0", "generator.top_p", "(0, 1]", "0"),
    ("generator.top_p=nan", "generator.top_p", "(0, 1]", "nan"),
    ("generator.temperature=2.5", "generator.temperature", "[0, 2]", "2.5"),
    ("generator.max_tokens=4", "generator.max_tokens", ">= 8", "4"),
    ("personas.candidates=0", "personas.candidates", "[1, 20]", "0"),
    ("run.shard_size=0", "run.shard_size", ">= 1", "0"),
    ("queries_per_document=0", "queries_per_document", ">= 1", "0"),
    ("corpus.format=xml", "corpus.format", "one of", "'xml'"),
    ("embedder.backend=onnx", "embedder.backend", "one of", "'onnx'"),
    ("languages.query={en=-1.0, de=2.0}", "languages.query.en", ">= 0", "-1.0"),
])
def test_out_of_range_values(item, key, rule, value):
    _assert_one_line(_error([item]), key, rule, value)


def test_missing_corpus_path(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "x"\n[corpus]\ntext_column = "body"\n')
    _assert_one_line(_error([], path), "corpus.path", "is required")


def test_missing_corpus_table(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "x"\n')
    _assert_one_line(_error([], path), "corpus", "is required")


@pytest.mark.parametrize("code", ["eng", "EN", "e1", "en-US"])
def test_bad_language_code(code):
    _assert_one_line(_error([f'languages.query={{"{code}"=1.0}}']), f"languages.query.{code}",
                     "ISO 639-1", repr(code))


def test_all_zero_weights():
    _assert_one_line(_error(["languages.query={en=0.0, de=0}"]), "languages.query", "must not all be 0",
                     "'en': 0.0")


def test_empty_languages():
    _assert_one_line(_error(["languages.query={}"]), "languages.query", "at least one language")


def test_invalid_toml_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[corpus\npath = "c.jsonl"\n')
    _assert_one_line(_error([], path), "file", "valid TOML", str(path))


def test_non_utf8_toml_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    _assert_one_line(_error([], path), "file", "valid TOML")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    _assert_one_line(_error([], path), "file", "existing TOML file", str(path))


def test_directory_is_not_a_recipe(tmp_path):
    _assert_one_line(_error([], tmp_path), "file", "existing TOML file")


def test_query_length_min_above_max():
    _assert_one_line(_error(["tasks.retrieval.query_length=[5,2]"]), "tasks.retrieval.query_length",
                     "1 <= min <= max", "[5, 2]")


@pytest.mark.parametrize("value", ["[0, 3]", "[3]", "[1, 2, 3]"])
def test_query_length_other_shapes(value):
    _assert_one_line(_error([f"tasks.retrieval.query_length={value}"]), "tasks.retrieval.query_length",
                     "[min, max]")


def test_unknown_task():
    _assert_one_line(_error(["tasks.foo={weight=1.0}"]), "tasks.foo", "unknown key", "retrieval")


def test_all_task_weights_zero():
    _assert_one_line(_error(["tasks.retrieval.weight=0"]), "tasks", "weight > 0")


def test_tasks_not_a_table():
    _assert_one_line(_error(["tasks=3"]), "tasks", "must be a table", "3")


def test_empty_name():
    _assert_one_line(_error(['name=" "']), "name", "must not be empty")


def test_build_recipe_from_a_dict():
    recipe = build_recipe({"name": "d", "corpus": {"path": "x.jsonl"}, "seed": 7})
    assert recipe.seed == 7 and recipe.corpus[0].path == "x.jsonl"
    with pytest.raises(RecipeError) as info:
        build_recipe({"name": "d", "corpus": {"path": "x.jsonl"}, "seed": "7"})
    _assert_one_line(info.value, "seed", "must be int", "'7'")


def test_table_given_a_scalar_names_the_key():
    message = _assert_one_line(_error(["generator=3"]), "must be a table", "3")
    assert message.startswith("recipe: generator: "), message


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[3].glob("recipes/**/*.toml")),
                         ids=lambda p: p.name)
def test_every_shipped_recipe_loads(path):
    recipe = load_recipe(path)
    assert recipe.tasks.enabled()


def test_several_corpora_and_the_stdlib_code_corpus():
    recipe = build_recipe({"name": "t", "corpus": [{"path": "a.jsonl"}, {"path": "builtin:python-stdlib/json",
                                                                       "format": "code"}]})
    assert [c.format for c in recipe.corpus] == ["auto", "code"]
    assert (recipe.corpus[1].resolved_path() / "decoder.py").is_file()


def test_corpus_free_recipes_need_no_corpus_but_others_do():
    assert build_recipe({"name": "t", "tasks": {"corpus_free": {}}}).corpus == []
    with pytest.raises(RecipeError, match="corpus: is required by the tasks retrieval"):
        build_recipe({"name": "t"})


@pytest.mark.parametrize("tasks, key", [
    ({"bitext": {"pairs": {"en-en": 1.0}}}, "tasks.bitext.pairs.en-en"),
    ({"bitext": {"pairs": {"english-de": 1.0}}}, "tasks.bitext.pairs.english-de"),
    ({"sts": {"high_scores": [3.0], "low_scores": [3.5]}}, "tasks.sts.low_scores"),
    ({"classification": {"label_sets": [{"instruction": "x", "labels": ["a", "a"]}]}},
     "tasks.classification.label_sets.labels"),
    ({"matching": {"kinds": {"short_long": 1.0}}}, "tasks.matching.kinds"),
    ({"code_retrieval": {"intents": {"refactor": 1.0}}}, "tasks.code_retrieval.intents"),
    ({"retrieval": {"gates": ["cosine", "vibes"]}}, "tasks.retrieval.gates"),
    ({"corpus_free": {"examples_per_task": 0}}, "tasks.corpus_free.examples_per_task"),
])
def test_task_tables_are_validated(tasks, key):
    with pytest.raises(RecipeError) as info:
        build_recipe({"name": "t", "corpus": [{"path": "x"}], "tasks": tasks})
    _assert_one_line(info.value, key)


def test_language_matrix_is_validated_and_falls_back_to_query():
    recipe = build_recipe({"name": "t", "corpus": [{"path": "x"}],
                           "languages": {"query": {"same": 1.0}, "matrix": {"de": {"en": 1.0}}}})
    assert recipe.languages.weights_for("de") == {"en": 1.0}
    assert recipe.languages.weights_for("fr") == {"same": 1.0}
    with pytest.raises(RecipeError) as info:
        build_recipe({"name": "t", "corpus": [{"path": "x"}], "languages": {"matrix": {"de": {"xx1": 1.0}}}})
    _assert_one_line(info.value, "languages.matrix.de.xx1")
