"""synthgen.config.quality and synthgen.config.languages: the mining knobs' checks, the gate
list read off `GatesConfig`, and the one ISO 639-1 code rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synthgen.config.languages import UNDETERMINED, is_language_code, normalize_code
from synthgen.config.loader import build_recipe
from synthgen.config.quality import GATES, ROW_GATES, GatesConfig, MiningConfig, MiningRecipeConfig, NearDupGateConfig
from synthgen.errors import RecipeError


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_negatives=0), "recipe: mining.num_negatives: must be at least 1, got 0"),
    (dict(range_min=-1), "recipe: mining.range_min: must be non-negative, got -1"),
    (dict(range_min=5, range_max=5), "recipe: mining.range_max: must be larger than mining.range_min, got 5"),
    (dict(range_min=5, range_max=7),
     "recipe: mining.range_max: must be at least mining.range_min + mining.num_negatives (8), got 7"),
    (dict(sampling_strategy="best"), "recipe: mining.sampling_strategy: must be one of top, random, got 'best'"),
    (dict(relative_margin=float("nan")), "recipe: mining.relative_margin: must be a finite number or None, got nan"),
    (dict(max_score=0.3, min_score=0.5), "recipe: mining.min_score: must not exceed mining.max_score=0.3, got 0.5"),
    (dict(num_negatives=2.0), "recipe: mining.num_negatives: must be an integer, got 2.0"),
    (dict(use_faiss=1), "recipe: mining.use_faiss: must be a bool, got 1"),
])
def test_mining_config_rejects_bad_values_with_one_recipe_error(kwargs, message):
    with pytest.raises(RecipeError) as info:
        MiningConfig(**kwargs)
    assert str(info.value) == message
    assert info.value.key == message.split(": ")[1]


def test_mining_config_takes_numpy_integers():
    assert MiningConfig(seed=np.int64(7), num_negatives=np.int32(2)).seed == 7


def test_a_recipe_reports_the_mining_knob_it_breaks():
    with pytest.raises(RecipeError) as info:
        build_recipe({"name": "t", "corpus": {"path": "c.jsonl"},
                      "mining": {"num_negatives": 3, "range_min": 1, "range_max": 2}})
    assert str(info.value) == ("recipe: mining.range_max: must be at least mining.range_min + mining.num_negatives "
                               "(4), got 2")
    with pytest.raises(RecipeError, match=r"^recipe: mining\.min_negatives: must be in \[0, mining\.num_negatives\], "
                                          r"got 4$"):
        MiningRecipeConfig(min_negatives=4)


def test_gates_are_listed_once_in_the_order_of_their_tables():
    names = [f.name for f in dataclasses.fields(GatesConfig)]
    assert [gate.name for gate in GATES] == names
    assert [gate.name for gate in GATES if not gate.per_row] == ["exact_dedup", "near_dup"]
    assert ROW_GATES == ("leakage", "language", "cosine", "consistency", "margin", "generic", "instruction",
                         "positive_length", "translation", "topic")
    specs = {gate.name: gate for gate in GATES}
    assert specs["exact_dedup"].config is bool and specs["near_dup"].config is NearDupGateConfig
    for gate in GATES:  # each default is an instance of the registered class
        assert isinstance(getattr(GatesConfig(), gate.name), gate.config)


def test_is_on_reads_a_bare_bool_or_enabled():
    gates = build_recipe({"name": "t", "corpus": {"path": "c.jsonl"},
                          "gates": {"exact_dedup": False, "consistency": {"enabled": True}}}).gates
    assert not gates.is_on("exact_dedup") and gates.is_on("near_dup") and gates.is_on("consistency")
    assert not GatesConfig().is_on("consistency")


@pytest.mark.parametrize("value, code", [("en", "en"), ("EN", "en"), ("en-US", "en"), ("en_GB", "en"),
                                         (" de ", "de"), ("deu", UNDETERMINED), ("", UNDETERMINED),
                                         ("e1", UNDETERMINED), ("中文", UNDETERMINED), ("und", UNDETERMINED)])
def test_normalize_code(value, code):
    assert normalize_code(value) == code


@pytest.mark.parametrize("code, valid", [("en", True), ("zh", True), ("EN", False), ("en-US", False),
                                         ("und", False), ("sa", True), ("é1", False), ("éa", False)])
def test_a_recipe_language_is_a_code_as_normalize_code_writes_it(code, valid):
    assert is_language_code(code) is valid
    assert not is_language_code("same")  # a weight key of its own, not a language
    data = {"name": "t", "corpus": {"path": "c.jsonl"}, "languages": {"query": {code: 1.0}}}
    if valid:
        assert build_recipe(data).languages.query == {code: 1.0}
    else:
        with pytest.raises(RecipeError, match=r"must be an ISO 639-1 code or 'same'"):
            build_recipe(data)
